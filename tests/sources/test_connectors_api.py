"""Registering connectors: validation, the probe, secrets, changes, deletion, health."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.config import Settings
from app.db import create_engine, create_sessionmaker
from app.events import EventKind
from app.main import create_app
from app.sources.models import ConnectorRegistration
from tests.helpers.clients import ApiCredentials, MakeClient
from tests.helpers.sources import (
    audit_events,
    connector_body,
    consumer_for,
    pull_headers,
    register,
)


@pytest.fixture
async def integrator(make_api_client: MakeClient) -> ApiCredentials:
    return await make_api_client("integrator")


@pytest.fixture(autouse=True)
def _clean_mocks(mock_servers: Any) -> Any:
    mock_servers.reset()
    yield
    mock_servers.reset()


def _secrets(mock_servers: Any) -> list[str]:
    out = []
    for system in ("population", "civil-status", "land", "tax"):
        auth = mock_servers.auth(system)
        out += [str(auth[k]) for k in ("key", "client_secret") if auth.get(k)]
    return out


async def test_registration_probes_the_source_and_enables_the_connector(
    client: httpx.AsyncClient, integrator: ApiCredentials, mock_servers: Any
) -> None:
    created = await register(client, integrator, mock_servers, "population")
    assert created["enabled"] is True
    assert created["probe"]["ok"] is True
    steps = {(s["step"], s["record_type"]): s for s in created["probe"]["steps"]}
    assert steps[("sample", "Person")]["ok"] is True
    assert {s["step"] for s in created["probe"]["steps"]} >= {"reachability", "auth", "sample"}
    assert {rt["record_type"] for rt in created["record_types"]} >= {"Person", "Residence"}
    assert created["auth"] == {
        "kind": "api_key",
        "header": mock_servers.auth("population").get("header", "X-API-Key"),
        "token_url": None,
        "client_id": None,
        "scope": None,
        "secret_stored": True,
    }


@pytest.mark.parametrize("system", ["civil-status", "land", "tax"])
async def test_each_system_registers_with_its_own_auth(
    client: httpx.AsyncClient, integrator: ApiCredentials, mock_servers: Any, system: str
) -> None:
    created = await register(client, integrator, mock_servers, system)
    assert created["probe"]["ok"] is True, created["probe"]
    assert created["enabled"] is True
    assert created["auth"]["kind"] == mock_servers.auth(system)["kind"]


async def test_secrets_are_never_returned_nor_logged(
    app: FastAPI, client: httpx.AsyncClient, integrator: ApiCredentials, mock_servers: Any
) -> None:
    created = await register(client, integrator, mock_servers, "civil-status")
    await register(client, integrator, mock_servers, "population")
    secrets = _secrets(mock_servers)
    listed = await client.get("/v1/connectors", headers=integrator.headers)
    one = await client.get(f"/v1/connectors/{created['id']}", headers=integrator.headers)
    patched = await client.patch(
        f"/v1/connectors/{created['id']}",
        headers=integrator.headers,
        json={"auth": mock_servers.auth("civil-status"), "reprobe": True},
    )
    assert patched.status_code == 200, patched.text
    for answer in (listed, one, patched):
        for secret in secrets:
            assert secret not in answer.text
    events = await audit_events(app)
    assert {EventKind.CONNECTOR_REGISTERED, EventKind.CONNECTOR_CHANGED} <= {e.kind for e in events}
    dumped = json.dumps([e.details for e in events], ensure_ascii=False)
    for secret in secrets:
        assert secret not in dumped
    async with app.state.hub.sessionmaker() as session:
        row = await session.get(ConnectorRegistration, created["id"])
        assert row is not None and row.auth_secret is not None
        for secret in secrets:
            assert secret not in row.auth_secret
            assert secret not in json.dumps(row.auth_settings)


async def test_a_failed_probe_registers_the_connector_disabled(
    client: httpx.AsyncClient, integrator: ApiCredentials, mock_servers: Any
) -> None:
    wrong_key = {**mock_servers.auth("population"), "key": "not-the-key"}
    created = await register(client, integrator, mock_servers, "population", auth=wrong_key)
    assert created["enabled"] is False
    assert created["probe"]["ok"] is False
    failed = [s for s in created["probe"]["steps"] if s["status"] == "failed"]
    assert failed and failed[0]["kind"] == "auth"

    unreachable = await register(
        client,
        integrator,
        mock_servers,
        "land",
        name="land-nowhere",
        base_url="http://127.0.0.1:9",
    )
    assert unreachable["enabled"] is False
    assert unreachable["probe"]["steps"][0]["status"] == "failed"


async def test_a_mapping_naming_an_unknown_element_is_refused_listing_every_problem(
    client: httpx.AsyncClient, integrator: ApiCredentials, mock_servers: Any
) -> None:
    shipped = await register(client, integrator, mock_servers, "population", name="ref")
    spec = (await client.get(f"/v1/connectors/{shipped['id']}", headers=integrator.headers)).json()
    person = next(rt for rt in spec["record_types"] if rt["record_type"] == "Person")
    mapping = dict(person["versions"][0]["spec"])
    mapping["fields"] = {
        **mapping["fields"],
        "shoe_size": {"from": "coGiay"},
        "date_of_birth": {"from": "ngaySinh", "number": "decimal_comma"},
    }
    answer = await client.post(
        "/v1/connectors",
        headers=integrator.headers,
        json=connector_body(
            mock_servers,
            "population",
            name="bad-mapping",
            record_types=[{"record_type": "Person", "mapping": mapping}],
        ),
    )
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["code"] == "invalid_mapping"
    codes = {e["code"] for e in body["errors"]}
    assert "unknown_element" in codes or "unknown_field" in codes
    assert len(body["errors"]) >= 2
    assert all(e["path"].startswith("/record_types/0/mapping/") for e in body["errors"])
    names = [
        c["name"] for c in (await client.get("/v1/connectors", headers=integrator.headers)).json()
    ]
    assert "bad-mapping" not in names


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"system": "weather"}, "request_invalid"),
        ({"base_url": "ftp://example"}, "request_invalid"),
        ({"record_types": []}, "request_invalid"),
        ({"record_types": ["NoSuchRecord"]}, "invalid_mapping"),
        ({"record_types": ["Taxpayer"]}, "invalid_mapping"),
        (
            {"record_types": [{"record_type": "Person", "shipped": "nope.Person"}]},
            "invalid_mapping",
        ),
        ({"timeouts": {"connect": 5, "read": 5, "total": 1}}, "request_invalid"),
        ({"auth": {"kind": "api_key"}}, "request_invalid"),
        ({"surprise": 1}, "request_invalid"),
    ],
)
async def test_registration_refuses_bad_input(
    client: httpx.AsyncClient,
    integrator: ApiCredentials,
    mock_servers: Any,
    change: dict[str, Any],
    code: str,
) -> None:
    body = {**connector_body(mock_servers, "population"), **change}
    answer = await client.post("/v1/connectors", headers=integrator.headers, json=body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == code


async def test_names_are_unique_and_unknown_ids_are_404(
    client: httpx.AsyncClient, integrator: ApiCredentials, mock_servers: Any
) -> None:
    await register(client, integrator, mock_servers, "population")
    again = await client.post(
        "/v1/connectors",
        headers=integrator.headers,
        json=connector_body(mock_servers, "population"),
    )
    assert again.status_code == 409
    assert again.json()["code"] == "connector_exists"
    for method, path in [
        ("GET", "/v1/connectors/nope"),
        ("PATCH", "/v1/connectors/nope"),
        ("DELETE", "/v1/connectors/nope"),
        ("GET", "/v1/connectors/nope/health"),
        ("GET", "/v1/connectors/nope/quality"),
        ("POST", "/v1/connectors/nope/quality/scan"),
    ]:
        kwargs: dict[str, Any] = {"json": {}} if method in ("PATCH", "POST") else {}
        answer = await client.request(method, path, headers=integrator.headers, **kwargs)
        assert answer.status_code == 404, (method, path, answer.text)
        assert answer.json()["code"] == "connector_not_found"


async def test_patch_disables_enables_and_keeps_mapping_versions(
    app: FastAPI,
    client: httpx.AsyncClient,
    integrator: ApiCredentials,
    make_api_client: MakeClient,
    mock_servers: Any,
) -> None:
    created = await register(client, integrator, mock_servers, "population")
    url = f"/v1/connectors/{created['id']}"
    consumer = await consumer_for(app, make_api_client, {"Person": None})
    subject = mock_servers.dataset.demo_citizens(1)[0]
    pull = f"/v1/records/Person/{subject}"

    off = await client.patch(url, headers=integrator.headers, json={"enabled": False})
    assert off.status_code == 200 and off.json()["enabled"] is False
    refused = await client.get(pull, headers=pull_headers(consumer))
    assert refused.status_code == 503
    assert refused.json()["code"] == "no_source"

    current = next(rt for rt in off.json()["record_types"] if rt["record_type"] == "Person")
    spec = dict(current["versions"][0]["spec"])
    # The source says VN; a constant the source never sends shows which version serves.
    spec["fields"] = {**spec["fields"], "nationality": {"const": "LA"}}
    changed = await client.patch(
        url,
        headers=integrator.headers,
        json={"enabled": True, "mappings": [{"record_type": "Person", "mapping": spec}]},
    )
    assert changed.status_code == 200, changed.text
    person = next(rt for rt in changed.json()["record_types"] if rt["record_type"] == "Person")
    assert person["active_version"] == 2
    assert [v["version"] for v in person["versions"]] == [1, 2]
    assert changed.json()["revision"] == created["revision"] + 2
    served = await client.get(pull, headers=pull_headers(consumer))
    assert served.status_code == 200, served.text
    assert served.json()["record"]["nationality"] == "LA"

    back = await client.patch(url, headers=integrator.headers, json={"activate": {"Person": 1}})
    assert back.status_code == 200
    person = next(rt for rt in back.json()["record_types"] if rt["record_type"] == "Person")
    assert person["active_version"] == 1
    served = await client.get(pull, headers=pull_headers(consumer))
    assert served.json()["record"]["nationality"] == "VN"

    bad = await client.patch(url, headers=integrator.headers, json={"activate": {"Person": 9}})
    assert bad.status_code == 422
    assert bad.json()["code"] == "invalid_mapping"
    bad = await client.patch(
        url,
        headers=integrator.headers,
        json={"mappings": [{"record_type": "Person", "mapping": {"fields": {}}}]},
    )
    assert bad.status_code == 422
    assert bad.json()["code"] == "invalid_mapping"
    bad = await client.patch(url, headers=integrator.headers, json={"enabled": "maybe"})
    assert bad.status_code == 422
    assert bad.json()["code"] == "request_invalid"


async def test_delete_removes_the_connector_and_is_audited(
    app: FastAPI, client: httpx.AsyncClient, integrator: ApiCredentials, mock_servers: Any
) -> None:
    created = await register(client, integrator, mock_servers, "land")
    gone = await client.delete(f"/v1/connectors/{created['id']}", headers=integrator.headers)
    assert gone.status_code == 204
    assert (
        await client.get(f"/v1/connectors/{created['id']}", headers=integrator.headers)
    ).status_code == 404
    assert app.state.hub.connectors.get(created["id"]) is None
    deleted = await audit_events(app, EventKind.CONNECTOR_DELETED)
    assert deleted and deleted[-1].details["connector"] == created["id"]


async def test_health_statistics_move_with_traffic(
    app: FastAPI,
    client: httpx.AsyncClient,
    integrator: ApiCredentials,
    make_api_client: MakeClient,
    mock_servers: Any,
) -> None:
    created = await register(client, integrator, mock_servers, "population")
    health_url = f"/v1/connectors/{created['id']}/health"
    before = (await client.get(health_url, headers=integrator.headers)).json()["stats"]
    consumer = await consumer_for(app, make_api_client, {"Person": None})
    for subject in mock_servers.dataset.demo_citizens(3):
        answer = await client.get(f"/v1/records/Person/{subject}", headers=pull_headers(consumer))
        assert answer.status_code == 200
    after = (await client.get(health_url, headers=integrator.headers)).json()
    assert after["stats"]["requests"] >= before["requests"] + 3
    assert after["stats"]["successes"] >= before["successes"] + 3
    assert after["stats"]["latency_ms"]["p50"] is not None
    assert after["stats"]["breaker"]["state"] == "closed"
    assert after["stats"]["last_success"] is not None


async def test_a_change_on_another_instance_reaches_this_one(
    settings: Settings,
    app: FastAPI,
    client: httpx.AsyncClient,
    integrator: ApiCredentials,
    make_api_client: MakeClient,
    mock_servers: Any,
) -> None:
    other_settings = settings.model_copy(update={"connector_refresh_seconds": 0.0})
    other = create_app(other_settings)
    consumer = await consumer_for(app, make_api_client, {"Person": None})
    subject = mock_servers.dataset.demo_citizens(1)[0]
    async with other.router.lifespan_context(other):
        transport = httpx.ASGITransport(app=other)
        async with httpx.AsyncClient(transport=transport, base_url="http://other.test") as peer:
            none_yet = await peer.get(
                f"/v1/records/Person/{subject}", headers=pull_headers(consumer)
            )
            assert none_yet.json()["code"] == "no_source"
            created = await register(client, integrator, mock_servers, "population")
            served = await peer.get(f"/v1/records/Person/{subject}", headers=pull_headers(consumer))
            assert served.status_code == 200, served.text
            await client.patch(
                f"/v1/connectors/{created['id']}",
                headers=integrator.headers,
                json={"enabled": False},
            )
            refused = await peer.get(
                f"/v1/records/Person/{subject}", headers=pull_headers(consumer)
            )
            assert refused.json()["code"] == "no_source"


async def test_a_failed_registry_refresh_keeps_serving_the_connectors_it_has(
    tmp_path: Any,
    app: FastAPI,
    client: httpx.AsyncClient,
    integrator: ApiCredentials,
    make_api_client: MakeClient,
    mock_servers: Any,
) -> None:
    await register(client, integrator, mock_servers, "population")
    consumer = await consumer_for(app, make_api_client, {"Person": None})
    subject = mock_servers.dataset.demo_citizens(1)[0]
    registry = app.state.hub.connectors
    # The check for other instances' changes now meets a database that cannot be opened.
    unreachable = create_engine(f"sqlite+aiosqlite:///{tmp_path}/missing/dir/hub.db")
    registry._sessionmaker = create_sessionmaker(unreachable)
    registry._refresh_seconds = 0.0
    try:
        served = await client.get(f"/v1/records/Person/{subject}", headers=pull_headers(consumer))
        assert served.status_code == 200, served.text
        assert served.json()["record"]["citizen_id"] == subject
    finally:
        await unreachable.dispose()
