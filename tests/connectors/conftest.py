"""The mocks in process (httpx.ASGITransport), fresh for each test so no write, correction or
change outlives it: for the tests about the mocks' own data and behaviour."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from connectors.mocks import SYSTEMS, MockApp, MockSettings, create_mock_app
from connectors.mocks.dataset import Dataset

Clients = dict[str, httpx.AsyncClient]


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return Dataset(MockSettings())


@pytest.fixture
def apps(dataset: Dataset) -> dict[str, MockApp]:
    return {system: create_mock_app(system, dataset=dataset) for system in SYSTEMS}


@pytest.fixture
async def controls(apps: dict[str, MockApp]) -> AsyncIterator[Clients]:
    """One client per mock without its auth: the control endpoints take none."""
    clients = {
        system: httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://m")
        for system, app in apps.items()
    }
    yield clients
    for client in clients.values():
        await client.aclose()


@pytest.fixture
async def mocks(dataset: Dataset, apps: dict[str, MockApp]) -> AsyncIterator[Clients]:
    """One authenticated client per mock."""
    settings = dataset.settings
    clients: Clients = {}
    for system, app in apps.items():
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://m")
        if app.spec.auth == "api_key":
            client.headers[app.spec.api_key_header] = settings.api_key
        else:
            form = {"grant_type": "client_credentials", "client_id": settings.oauth_client_id,
                    "client_secret": settings.oauth_client_secret}  # fmt: skip
            token = (await client.post("/oauth/token", data=form)).json()["access_token"]
            client.headers["Authorization"] = f"Bearer {token}"
        clients[system] = client
    yield clients
    for client in clients.values():
        await client.aclose()
