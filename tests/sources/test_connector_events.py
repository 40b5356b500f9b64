"""A connector change and its administrative event: the event is appended before the change
is written, so a change whose event cannot be written is not kept (503 ``audit_unavailable``),
in the database or among the live connectors."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.helpers.audit_log import log_out_of_reach
from tests.helpers.clients import ApiCredentials, MakeClient
from tests.helpers.sources import connector_body, register


@pytest.fixture
async def integrator(make_api_client: MakeClient) -> ApiCredentials:
    return await make_api_client("integrator")


async def test_a_connector_is_not_registered_when_its_event_cannot_be_written(
    app: FastAPI, client: httpx.AsyncClient, integrator: ApiCredentials, mock_servers: Any
) -> None:
    async with log_out_of_reach(app):
        answer = await client.post(
            "/v1/connectors",
            headers=integrator.headers,
            json=connector_body(mock_servers, "population"),
        )
    assert answer.status_code == 503, answer.text
    assert answer.json()["code"] == "audit_unavailable"
    listed = await client.get("/v1/connectors", headers=integrator.headers)
    assert listed.json() == []
    assert not app.state.hub.connectors.all()


async def test_a_connector_change_is_not_kept_when_its_event_cannot_be_written(
    app: FastAPI, client: httpx.AsyncClient, integrator: ApiCredentials, mock_servers: Any
) -> None:
    created = await register(client, integrator, mock_servers, "land")
    path = f"/v1/connectors/{created['id']}"
    async with log_out_of_reach(app):
        changed = await client.patch(path, headers=integrator.headers, json={"enabled": False})
        deleted = await client.delete(path, headers=integrator.headers)
    assert [changed.status_code, deleted.status_code] == [503, 503]
    kept = (await client.get(path, headers=integrator.headers)).json()
    assert (kept["enabled"], kept["revision"]) == (True, created["revision"])
    assert [live.enabled for live in app.state.hub.connectors.all()] == [True]
