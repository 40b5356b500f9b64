"""Fixtures of the consent tests: a consumer agency system."""

from __future__ import annotations

import pytest

from tests.conftest import ApiCredentials, MakeClient


@pytest.fixture
async def consumer(make_api_client: MakeClient) -> ApiCredentials:
    return await make_api_client("consumer", agency="Commune People's Committee, Ba Dinh")
