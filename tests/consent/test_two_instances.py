"""No consent state lives in a hub instance: a revocation on one blocks the next pull on another."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from app.config import Settings
from app.errors import HubError
from app.main import create_app
from tests.helpers.consents import Consumer, citizen_headers, decide, record


@pytest.fixture
async def second_instance(settings: Settings) -> AsyncIterator[FastAPI]:
    """Another hub process in all but name: its own app, engine and pools, same database."""
    other = create_app(settings.model_copy())
    async with other.router.lifespan_context(other):
        yield other


async def test_a_revocation_on_one_instance_blocks_the_next_pull_on_another(
    app: FastAPI,
    second_instance: FastAPI,
    client: httpx.AsyncClient,
    consumer: Consumer,
    settings: Settings,
) -> None:
    assert second_instance.state.hub.engine is not app.state.hub.engine
    consent = await record(
        client, consumer, fetch_type="PERIODIC", max_uses_per_period=50, period="day"
    )
    assert (await decide(second_instance, consumer)).reference == consent["id"]
    assert (await decide(second_instance, consumer)).reference == consent["id"]

    revoked = await client.post(
        f"/v1/me/consents/{consent['id']}/revoke", headers=citizen_headers(settings)
    )
    assert revoked.status_code == 200

    with pytest.raises(HubError) as caught:
        await decide(second_instance, consumer)
    assert caught.value.code == "consent_revoked"


async def test_a_one_time_consent_is_spent_once_across_instances(
    app: FastAPI, second_instance: FastAPI, client: httpx.AsyncClient, consumer: Consumer
) -> None:
    await record(client, consumer)
    assert (await decide(app, consumer)).kind == "consent"
    with pytest.raises(HubError) as caught:
        await decide(second_instance, consumer)
    assert caught.value.code == "consent_exhausted"
