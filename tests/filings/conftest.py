"""Fixtures of the filings tests: a consumer's portal, and the four mocks wired to the hub."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.config import Settings
from app.security.citizen import issue_citizen_token
from tests.helpers.clients import ApiCredentials, MakeClient
from tests.helpers.filings import SYSTEM_RECORD_TYPES, Portal, grant_procedures


@pytest.fixture
async def consumer(app: FastAPI, make_api_client: MakeClient) -> ApiCredentials:
    """A consumer granted every shipped procedure, as the demo's is."""
    made = await make_api_client("consumer", agency="Ba Dinh commune public service centre")
    await grant_procedures(app, made.client_id, sorted(app.state.hub.dictionary.procedures))
    return made


@pytest.fixture
def portal(client: httpx.AsyncClient, consumer: ApiCredentials, settings: Settings) -> Portal:
    return Portal(client, consumer, settings)


@pytest.fixture
def citizen_headers(settings: Settings) -> Any:
    def headers(citizen_id: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {issue_citizen_token(settings, citizen_id)}"}

    return headers


@pytest.fixture
async def sources(
    client: httpx.AsyncClient, make_api_client: MakeClient, mock_servers: Any
) -> AsyncIterator[Any]:
    """The four mocks, each its own uvicorn process, registered as the hub's connectors."""
    from tests.helpers.sources import register

    mock_servers.reset()
    integrator = await make_api_client("integrator")
    for system, record_types in SYSTEM_RECORD_TYPES.items():
        await register(client, integrator, mock_servers, system, record_types=record_types)
    yield mock_servers
    mock_servers.reset()
