"""Health, metrics, request ids and the one error envelope."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from app.config import Settings
from app.db import create_engine, create_sessionmaker
from tests.helpers.clients import ApiCredentials


async def test_liveness_and_readiness(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"
    assert ready.json()["checks"]["database"] == "ok"


async def test_readiness_fails_when_the_database_goes_away(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    lost = create_engine("sqlite+aiosqlite:////nonexistent/dir/hub.db")
    app.state.hub.sessionmaker = create_sessionmaker(lost)
    try:
        answer = await client.get("/readyz")
    finally:
        await lost.dispose()
    assert answer.status_code == 503
    assert answer.json()["status"] == "not_ready"
    assert answer.json()["checks"]["database"].startswith("error")


async def test_every_response_carries_a_request_id_and_errors_are_problem_json(
    client: httpx.AsyncClient,
) -> None:
    ok = await client.get("/healthz")
    assert len(ok.headers["x-request-id"]) >= 8
    echoed = await client.get("/healthz", headers={"X-Request-Id": "portal-req-12345"})
    assert echoed.headers["x-request-id"] == "portal-req-12345"
    missing = await client.get("/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    body = missing.json()
    assert body["code"] == "not_found"
    assert body["request_id"] == missing.headers["x-request-id"]
    assert body["status"] == 404 and body["type"].endswith("/not_found")
    wrong_method = await client.delete("/healthz")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["code"] == "method_not_allowed"


async def test_metrics_count_requests_by_route_template_and_status(
    client: httpx.AsyncClient, admin: ApiCredentials
) -> None:
    await client.get("/v1/clients/abc", headers=admin.headers)
    await client.get("/healthz")
    text = (await client.get("/metrics")).text
    assert (
        'hub_http_requests_total{method="GET",route="/v1/clients/{client_id}",status="404"}' in text
    )
    assert (
        'hub_http_request_duration_seconds_bucket{le="0.001",method="GET",route="/healthz"}' in text
    )


async def test_an_oversized_body_is_refused_with_413(
    client: httpx.AsyncClient, admin: ApiCredentials, settings: Settings
) -> None:
    big = b'{"name": "' + b"x" * (settings.max_body_bytes + 10) + b'"}'
    answer = await client.post(
        "/v1/clients", headers={**admin.headers, "content-type": "application/json"}, content=big
    )
    assert answer.status_code == 413
    assert answer.json()["code"] == "payload_too_large"

    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(10):
            yield b"x" * (settings.max_body_bytes // 4)

    streamed = await client.post(
        "/v1/clients",
        headers={**admin.headers, "content-type": "application/json"},
        content=chunks(),
    )
    assert streamed.status_code == 413
    assert streamed.json()["code"] == "payload_too_large"
    assert streamed.headers["x-request-id"]


@pytest.mark.parametrize("path", ["/docs", "/openapi.json"])
async def test_the_api_is_documented(client: httpx.AsyncClient, path: str, app: FastAPI) -> None:
    assert (await client.get(path)).status_code == 200
    schema = app.openapi()
    assert "Problem" in schema["components"]["schemas"]
    for path_item in schema["paths"].values():
        for operation in path_item.values():
            assert operation.get("summary"), operation.get("operationId")
