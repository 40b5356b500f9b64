"""Fixtures of the consent tests: a consumer agency system."""

from __future__ import annotations

import pytest

from app.config import Settings
from tests.helpers.clients import MakeClient
from tests.helpers.consents import Consumer


@pytest.fixture
async def consumer(make_api_client: MakeClient, settings: Settings) -> Consumer:
    made = await make_api_client("consumer", agency="Commune People's Committee, Ba Dinh")
    return Consumer(made.client_id, made.api_key, made.roles, settings=settings)
