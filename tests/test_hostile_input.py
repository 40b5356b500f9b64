"""Hostile input at the edge: every one is a 4xx Problem with a stable code, never a 500,
and a control character never reaches the database (PostgreSQL refuses NUL in text)."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest

from app.inputs import MAX_JSON_DEPTH
from tests.helpers.clients import ApiCredentials, MakeClient

JSON = {"content-type": "application/json"}
NDJSON = {"content-type": "application/x-ndjson"}


@pytest.fixture
async def consumer(make_api_client: MakeClient) -> ApiCredentials:
    return await make_api_client("consumer")


@pytest.fixture
async def auditor(make_api_client: MakeClient) -> ApiCredentials:
    return await make_api_client("auditor")


def _problem(answer: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = answer.json()
    assert body["code"] == code, body
    return body


def _nested(levels: int) -> bytes:
    """A Person record whose full_name nests ``levels`` arrays (the body's object is one more)."""
    return b'{"full_name":' + b"[" * levels + b"]" * levels + b"}"


@pytest.mark.parametrize(
    "url",
    [
        "/v1/dictionary/elements/person.full_name%00",
        "/v1/dictionary/elements/person%1Ffull_name",
        "/v1/dictionary/elements/person%7ffull_name",
        "/v1/audit/events?officer_id=a%00b",
        "/v1/audit/events?officer_id=a%0Ab",
        "/v1/records/Person/001%0D",
    ],
)
async def test_a_control_character_in_the_url_is_refused_before_authentication(
    client: httpx.AsyncClient, url: str
) -> None:
    # No credential is sent: the edge answers before authentication would give 401.
    _problem(await client.get(url), 400, "invalid_characters")


@pytest.mark.parametrize(
    "string",
    [
        '"a\\u0000b"',
        '"\\u0007"',
        '"\\b"',
        '"a\\u001fb"',
        '"a\x7fb"',
        '"a\\u007Fb"',
    ],
)
async def test_a_control_character_in_a_json_string_is_refused(
    client: httpx.AsyncClient, consumer: ApiCredentials, string: str
) -> None:
    headers = {**consumer.headers, **JSON}
    value = f'{{"full_name": {string}}}'.encode()
    key = f'{{{string}: "x"}}'.encode()
    for body in (value, key, b'{"a": [{"b": ' + string.encode() + b"}]}"):
        answer = await client.post("/v1/validate/Person", headers=headers, content=body)
        _problem(answer, 400, "invalid_characters")
        batch = await client.post(
            "/v1/validate/Person/batch", headers=headers, content=b"[" + body + b"]"
        )
        _problem(batch, 400, "invalid_characters")
        lines = await client.post(
            "/v1/validate/Person/batch",
            headers={**consumer.headers, **NDJSON},
            content=b"{}\n" + body + b"\n",
        )
        assert _problem(lines, 400, "invalid_characters")["line"] == 2


async def test_tab_line_feed_and_carriage_return_are_accepted_in_values(
    client: httpx.AsyncClient, consumer: ApiCredentials
) -> None:
    body = b'{"full_name": "a\\tb\\nc\\r\\\\u0000"}'  # the last is a backslash, not a NUL
    answer = await client.post(
        "/v1/validate/Person", headers={**consumer.headers, **JSON}, content=body
    )
    assert answer.status_code == 200, answer.text
    key = await client.post(
        "/v1/validate/Person", headers={**consumer.headers, **JSON}, content=b'{"a\\nb": 1}'
    )
    _problem(key, 400, "invalid_characters")


async def test_a_control_character_in_a_consent_is_refused_and_never_stored(
    client: httpx.AsyncClient, consumer: ApiCredentials
) -> None:
    body = {
        "citizen_id": "001234567890",
        "purpose": "a\u0000b",
        "record_types": ["Person"],
    }
    answer = await client.post("/v1/consents", headers=consumer.headers, json=body)
    _problem(answer, 400, "invalid_characters")


async def test_a_control_character_in_an_admin_body_is_refused(
    client: httpx.AsyncClient, admin: ApiCredentials
) -> None:
    body = {"name": "robot\u0000", "agency": "A", "roles": ["consumer"]}
    answer = await client.post("/v1/clients", headers=admin.headers, json=body)
    _problem(answer, 400, "invalid_characters")


async def test_nesting_up_to_the_limit_is_validated(
    client: httpx.AsyncClient, consumer: ApiCredentials
) -> None:
    answer = await client.post(
        "/v1/validate/Person",
        headers={**consumer.headers, **JSON},
        content=_nested(MAX_JSON_DEPTH - 1),
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["valid"] is False


@pytest.mark.parametrize("levels", [MAX_JSON_DEPTH, 255, 1000])
async def test_nesting_beyond_the_limit_is_refused_before_validation(
    client: httpx.AsyncClient, consumer: ApiCredentials, levels: int
) -> None:
    record = _nested(levels)
    headers = {**consumer.headers, **JSON}
    single = await client.post("/v1/validate/Person", headers=headers, content=record)
    assert _problem(single, 400, "too_deep")["max_depth"] == MAX_JSON_DEPTH
    batch = await client.post(
        "/v1/validate/Person/batch", headers=headers, content=b"[{}, " + record + b"]"
    )
    _problem(batch, 400, "too_deep")
    lines = await client.post(
        "/v1/validate/Person/batch",
        headers={**consumer.headers, **NDJSON},
        content=b"{}\n" + record + b"\n",
    )
    assert _problem(lines, 400, "too_deep")["line"] == 2
    consent = await client.post(
        "/v1/consents",
        headers={**consumer.headers, **JSON},
        content=b'{"citizen_id": "001234567890", "purpose": '
        + b"[" * levels
        + b"]" * levels
        + b"}",
    )
    _problem(consent, 400, "too_deep")


async def test_a_refused_ndjson_line_after_streaming_began_becomes_an_error_line(
    client: httpx.AsyncClient, consumer: ApiCredentials
) -> None:
    data = b"{}\n" * 2500 + _nested(300) + b"\n" + b'{"full_name": "\\u0000"}\n{}\n'
    answer = await client.post(
        "/v1/validate/Person/batch", headers={**consumer.headers, **NDJSON}, content=data
    )
    assert answer.status_code == 200
    lines = [orjson.loads(line) for line in answer.content.splitlines()]
    assert len(lines) == 2503
    assert [e["code"] for e in lines[2500]["errors"]] == ["too_deep"]
    assert [e["code"] for e in lines[2501]["errors"]] == ["invalid_characters"]
    assert lines[2502]["line"] == 2503


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/xml", None, "multipart/form-data; boundary=x"]
)
@pytest.mark.parametrize(
    "path", ["/v1/validate/Person", "/v1/validate/Person/batch", "/v1/consents"]
)
async def test_a_body_in_a_media_type_the_route_does_not_take_gets_415(
    client: httpx.AsyncClient, consumer: ApiCredentials, content_type: str | None, path: str
) -> None:
    headers = dict(consumer.headers)
    if content_type is not None:
        headers["content-type"] = content_type
    answer = await client.post(path, headers=headers, content=b"{}")
    body = _problem(answer, 415, "unsupported_media_type")
    assert "application/json" in body["accepted"]


@pytest.mark.parametrize(
    "content_type", ["application/json; charset=utf-8", "application/merge-patch+json"]
)
async def test_json_with_parameters_or_a_json_suffix_is_accepted(
    client: httpx.AsyncClient, consumer: ApiCredentials, content_type: str
) -> None:
    answer = await client.post(
        "/v1/validate/Person",
        headers={**consumer.headers, "content-type": content_type},
        content=b"{}",
    )
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize("ndjson", ["application/x-ndjson", "application/jsonl"])
async def test_the_batch_route_takes_ndjson_and_json(
    client: httpx.AsyncClient, consumer: ApiCredentials, ndjson: str
) -> None:
    lines = await client.post(
        "/v1/validate/Person/batch",
        headers={**consumer.headers, "content-type": ndjson},
        content=b"{}\n{}\n",
    )
    assert lines.status_code == 200
    assert len(lines.content.splitlines()) == 2
    array = await client.post(
        "/v1/validate/Person/batch", headers={**consumer.headers, **JSON}, content=b"[{}]"
    )
    assert array.json()["total"] == 1


@pytest.mark.parametrize(
    "body", [b'{"full_name": "x"', b'{"full_name": "\xff"}', b'{"full_name": "\\ud800"}', b""]
)
@pytest.mark.parametrize("path", ["/v1/validate/Person", "/v1/consents", "/v1/clients"])
async def test_malformed_json_gets_400_malformed_json(
    client: httpx.AsyncClient,
    make_api_client: MakeClient,
    body: bytes,
    path: str,
) -> None:
    caller = await make_api_client("admin", "consumer")
    answer = await client.post(path, headers={**caller.headers, **JSON}, content=body or b" ")
    _problem(answer, 400, "malformed_json")


async def test_a_malformed_batch_or_ndjson_line_gets_its_stable_code(
    client: httpx.AsyncClient, consumer: ApiCredentials
) -> None:
    array = await client.post(
        "/v1/validate/Person/batch",
        headers={**consumer.headers, **JSON},
        content=b'[{"a": "\\udc00"}]',
    )
    _problem(array, 400, "malformed_json")
    lines = await client.post(
        "/v1/validate/Person/batch",
        headers={**consumer.headers, **NDJSON},
        content=b'{}\n{"a": "\xc3"}\n',
    )
    assert _problem(lines, 400, "malformed_ndjson")["line"] == 2


async def test_an_audit_filter_with_a_nul_never_reaches_the_database(
    client: httpx.AsyncClient, auditor: ApiCredentials
) -> None:
    for query in ("officer_id=%00", "case_id=x%00y", "record_type=Person%00"):
        answer = await client.get(f"/v1/audit/events?{query}", headers=auditor.headers)
        _problem(answer, 400, "invalid_characters")
    # The log still answers: nothing above failed a transaction.
    assert (await client.get("/v1/audit/events", headers=auditor.headers)).status_code == 200
