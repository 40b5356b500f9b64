"""Every source fault gives its documented code, never a 500."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.events import EventKind
from tests.helpers.clients import ApiCredentials, MakeClient
from tests.helpers.sources import audit_events, consumer_for, pull_headers, register


@pytest.fixture(autouse=True)
def _clean_mocks(mock_servers: Any) -> Any:
    mock_servers.reset()
    yield
    mock_servers.reset()


@pytest.fixture
async def pulling(
    app: FastAPI, client: httpx.AsyncClient, make_api_client: MakeClient, mock_servers: Any
) -> tuple[dict[str, Any], ApiCredentials, str]:
    integrator = await make_api_client("integrator")
    created = await register(client, integrator, mock_servers, "population")
    consumer = await consumer_for(app, make_api_client, {"Person": None})
    subject = mock_servers.dataset.demo_citizens(1)[0]
    return created, consumer, subject


@pytest.mark.parametrize(
    ("faults", "status", "code"),
    [
        ({"error_rate": 1.0}, 502, "source_unavailable"),
        ({"hang_rate": 1.0, "hang_seconds": 5}, 504, "source_timeout"),
        ({"latency_ms": 1300}, 504, "source_timeout"),
        ({"malformed_rate": 1.0}, 502, "source_unavailable"),
        ({"drift": {"hoVaTen": "hoTen"}}, 502, "source_invalid_record"),
    ],
)
async def test_each_source_fault_has_its_code(
    app: FastAPI,
    client: httpx.AsyncClient,
    mock_servers: Any,
    pulling: tuple[dict[str, Any], ApiCredentials, str],
    faults: dict[str, Any],
    status: int,
    code: str,
) -> None:
    _created, consumer, subject = pulling
    mock_servers.set_faults("population", **faults)
    answer = await client.get(f"/v1/records/Person/{subject}", headers=pull_headers(consumer))
    assert answer.status_code == status, answer.text
    assert answer.json()["code"] == code
    if code == "source_invalid_record":
        assert any(e["path"] == "/full_name" for e in answer.json()["errors"])
    (event,) = await audit_events(app, EventKind.DATA_PULL)
    assert (event.outcome, event.error_code) == ("error", code)


async def test_the_breaker_opens_fails_fast_with_retry_after_and_health_shows_it(
    client: httpx.AsyncClient,
    make_api_client: MakeClient,
    mock_servers: Any,
    pulling: tuple[dict[str, Any], ApiCredentials, str],
) -> None:
    created, consumer, subject = pulling
    mock_servers.set_faults("population", error_rate=1.0)
    codes = []
    retry_after = None
    for _ in range(8):
        answer = await client.get(f"/v1/records/Person/{subject}", headers=pull_headers(consumer))
        assert answer.status_code in (502, 503), answer.text
        codes.append(answer.json()["code"])
        if answer.json().get("breaker") == "open":
            retry_after = answer.headers.get("retry-after")
            break
    assert set(codes) == {"source_unavailable"}
    assert retry_after is not None and int(retry_after) >= 1
    integrator = await make_api_client("integrator")
    health = await client.get(f"/v1/connectors/{created['id']}/health", headers=integrator.headers)
    stats = health.json()["stats"]
    assert stats["breaker"]["state"] == "open"
    assert stats["errors"]["unavailable"] >= 1
    assert stats["error_total"] >= 2
    assert stats["errors"]["breaker_open"] >= 1
