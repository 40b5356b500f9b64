"""Deny by default: every route declares who may call it, and the declaration holds."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from app.security.deps import AccessRule
from app.security.roles import Role
from tests.helpers.clients import MakeClient

DUMMY_ID = "00000000-0000-0000-0000-000000000000"


def _rules(dependant: Dependant) -> list[AccessRule]:
    found: list[AccessRule] = []
    rule = getattr(dependant.call, "access_rule", None)
    if isinstance(rule, AccessRule):
        found.append(rule)
    for sub in dependant.dependencies:
        found.extend(_rules(sub))
    return found


def _walk(routes: Sequence[BaseRoute]) -> Iterator[BaseRoute]:
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from _walk(included.routes)
        else:
            yield route


def _api_routes(app: FastAPI) -> list[APIRoute]:
    schema_paths = app.openapi()["paths"]
    routes = [
        r for r in _walk(app.router.routes) if isinstance(r, APIRoute) and r.include_in_schema
    ]
    assert {r.path for r in routes} == set(schema_paths), "OpenAPI and routes disagree"
    return routes


def _url(path: str) -> str:
    return re.sub(r"\{[^}]+\}", DUMMY_ID, path)


async def test_every_route_declares_exactly_one_access_rule(app: FastAPI) -> None:
    missing = []
    for route in _api_routes(app):
        rules = {(r.kind, r.roles) for r in _rules(route.dependant)}
        if len(rules) != 1:
            missing.append(f"{sorted(route.methods)} {route.path}: {rules or 'no rule'}")
    assert not missing, "routes without exactly one access rule:\n" + "\n".join(missing)


async def test_each_role_is_refused_or_admitted_as_the_route_declares(
    app: FastAPI, client: httpx.AsyncClient, make_api_client: MakeClient
) -> None:
    keys = {role.value: await make_api_client(role.value) for role in Role}
    checked = 0
    for route in _api_routes(app):
        (rule,) = {(r.kind, r.roles): r for r in _rules(route.dependant)}.values()
        for method in sorted(route.methods - {"HEAD", "OPTIONS"}):
            url = _url(route.path)
            kwargs: dict[str, Any] = {"json": {}} if method in {"POST", "PUT", "PATCH"} else {}
            anonymous = await client.request(method, url, **kwargs)
            if rule.kind == "public":
                assert anonymous.status_code not in (401, 403), (method, url, anonymous.text)
                checked += 1
                continue
            assert anonymous.status_code == 401, (method, url, anonymous.text)
            assert anonymous.json()["code"] == "unauthenticated"
            for role, credentials in keys.items():
                answer = await client.request(method, url, headers=credentials.headers, **kwargs)
                allowed = rule.kind == "client" and role in rule.roles
                if allowed:
                    assert answer.status_code not in (401, 403), (role, method, url, answer.text)
                else:
                    assert answer.status_code == 403, (role, method, url, answer.text)
                checked += 1
    assert checked >= 10


async def test_a_garbage_or_revoked_key_is_refused(
    client: httpx.AsyncClient, admin: Any, make_api_client: MakeClient
) -> None:
    for bad in ("nonsense", "doh_0123456789ab_wrongsecret", admin.api_key + "x"):
        answer = await client.get("/v1/clients", headers={"Authorization": f"Bearer {bad}"})
        assert answer.status_code == 401
        assert answer.json()["code"] == "invalid_api_key"
    other = await make_api_client("consumer")
    listed = await client.get(f"/v1/clients/{other.client_id}", headers=admin.headers)
    key_id = listed.json()["keys"][0]["id"]
    revoked = await client.post(
        f"/v1/clients/{other.client_id}/keys/{key_id}/revoke", headers=admin.headers
    )
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    refused = await client.get("/v1/dictionary/records", headers=other.headers)
    answer = await client.post(
        "/v1/validate/Person", headers=other.headers, json={"citizen_id": "x"}
    )
    assert answer.status_code == 401, refused.text
    assert answer.json()["code"] == "invalid_api_key"
