"""Connector registration refuses, with 422, inputs that used to crash it (found by fuzzing)."""

from __future__ import annotations

import httpx

from tests.helpers.clients import MakeClient

# A closed loopback port: registration never leaves the machine.
BASE_URL = "http://127.0.0.1:9"


async def test_an_empty_record_type_name_is_refused_not_a_server_error(
    client: httpx.AsyncClient, make_api_client: MakeClient
) -> None:
    integrator = await make_api_client("integrator")
    answer = await client.post(
        "/v1/connectors",
        json={"system": "tax", "base_url": BASE_URL, "record_types": [""]},
        headers=integrator.headers,
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == "request_invalid"


async def test_an_api_key_that_cannot_be_sent_in_a_header_is_refused(
    client: httpx.AsyncClient, make_api_client: MakeClient
) -> None:
    integrator = await make_api_client("integrator")
    for key in ("clé-secrète", "鍵"):
        answer = await client.post(
            "/v1/connectors",
            json={"system": "tax", "base_url": BASE_URL, "auth": {"kind": "api_key", "key": key}},
            headers=integrator.headers,
        )
        assert answer.status_code == 422, (key, answer.text)
        assert answer.json()["code"] == "request_invalid"
