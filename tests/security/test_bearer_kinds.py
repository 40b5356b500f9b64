"""Which refusal a bearer credential of the wrong kind gets: 401 unless the hub can verify it.

Only a valid credential says who is calling. A valid citizen token on an agency route, or a
valid API key on a citizen route, is 403 ``wrong_principal``; a token that merely looks like
one (a JWT-shaped string, an unknown key) is no credential at all: 401.
"""

from __future__ import annotations

import base64

import httpx
import orjson

from app.config import Settings
from app.security.citizen import issue_citizen_token
from tests.helpers.clients import ApiCredentials

AGENCY_ROUTE = "/v1/clients"
CITIZEN_ROUTE = "/v1/me/consents"


def _segment(value: dict[str, str]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(value)).rstrip(b"=").decode()


def jwt_shaped_garbage() -> str:
    return ".".join([_segment({"alg": "EdDSA", "typ": "JWT"}), _segment({"sub": "x"}), "c2ln"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_a_jwt_shaped_garbage_token_on_an_agency_route_is_unauthenticated(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.get(AGENCY_ROUTE, headers=bearer(jwt_shaped_garbage()))
    assert answer.status_code == 401, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == "unauthenticated"


async def test_a_valid_citizen_token_on_an_agency_route_is_the_wrong_principal(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    token = issue_citizen_token(settings, "001090000001")
    answer = await client.get(AGENCY_ROUTE, headers=bearer(token))
    assert answer.status_code == 403, answer.text
    assert answer.json()["code"] == "wrong_principal"


async def test_an_unknown_api_key_on_a_citizen_route_is_unauthenticated(
    client: httpx.AsyncClient,
) -> None:
    for token in ("doh_notakey", "plain-garbage"):
        answer = await client.get(CITIZEN_ROUTE, headers=bearer(token))
        assert answer.status_code == 401, (token, answer.text)
        assert answer.json()["code"] == "invalid_citizen_token"


async def test_a_valid_api_key_on_a_citizen_route_is_the_wrong_principal(
    client: httpx.AsyncClient, admin: ApiCredentials
) -> None:
    answer = await client.get(CITIZEN_ROUTE, headers=admin.headers)
    assert answer.status_code == 403, answer.text
    assert answer.json()["code"] == "wrong_principal"
