"""The clients API: creation, keys shown once and stored hashed, access rights."""

from __future__ import annotations

import hashlib

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.events import EventKind
from app.security.models import ApiKey
from tests.helpers.clients import ApiCredentials, MakeClient

RIGHTS = {
    "rights": [
        {
            "record_type": "Person",
            "fields": ["citizen_id", "full_name", "date_of_birth"],
            "purposes": ["birth-registration"],
            "legal_basis": "Decree 278/2025/ND-CP",
        }
    ]
}


async def test_a_created_client_gets_a_key_shown_once_and_stored_only_as_a_hash(
    app: FastAPI, client: httpx.AsyncClient, admin: ApiCredentials
) -> None:
    created = await client.post(
        "/v1/clients",
        headers=admin.headers,
        json={"name": "hcm-portal", "agency": "Ho Chi Minh City portal", "roles": ["consumer"]},
    )
    assert created.status_code == 201, created.text
    body = created.json()
    key = body["api_key"]
    prefix = key.split("_")[1]
    assert key.startswith("doh_") and len(key) > 43
    assert body["keys"][0]["prefix"] == prefix
    async with app.state.hub.sessionmaker() as session:
        stored = (await session.scalars(select(ApiKey).where(ApiKey.prefix == prefix))).one()
    assert stored.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert key not in str(vars(stored))

    listed = await client.get("/v1/clients", headers=admin.headers)
    assert listed.status_code == 200
    assert key not in listed.text
    names = {c["name"] for c in listed.json()}
    assert "hcm-portal" in names

    used = await client.get("/v1/clients", headers={"Authorization": f"Bearer {key}"})
    assert used.status_code == 403
    assert used.json()["code"] == "role_required"
    mine = await client.get(f"/v1/clients/{body['id']}", headers=admin.headers)
    assert mine.json()["keys"][0]["last_used_at"] is not None


async def test_a_client_can_hold_several_roles(
    client: httpx.AsyncClient, make_api_client: MakeClient
) -> None:
    both = await make_api_client("admin", "auditor")
    assert (await client.get("/v1/clients", headers=both.headers)).status_code == 200


async def test_bad_client_requests_are_refused_with_stable_codes(
    client: httpx.AsyncClient, admin: ApiCredentials
) -> None:
    unknown_role = await client.post(
        "/v1/clients", headers=admin.headers, json={"name": "x1", "agency": "A", "roles": ["god"]}
    )
    assert unknown_role.status_code == 422
    assert unknown_role.json()["code"] == "request_invalid"
    extra = await client.post(
        "/v1/clients",
        headers=admin.headers,
        json={"name": "x2", "agency": "A", "roles": ["admin"], "api_key": "mine"},
    )
    assert extra.status_code == 422
    malformed = await client.post(
        "/v1/clients",
        headers={**admin.headers, "content-type": "application/json"},
        content=b"{not json",
    )
    assert malformed.status_code == 400
    assert malformed.json()["code"] == "malformed_json"
    body = {"name": "dup", "agency": "Agency A", "roles": ["consumer"]}
    assert (await client.post("/v1/clients", headers=admin.headers, json=body)).status_code == 201
    duplicate = await client.post("/v1/clients", headers=admin.headers, json=body)
    assert duplicate.status_code == 409
    assert duplicate.json()["code"] == "client_exists"
    missing = await client.get("/v1/clients/nope", headers=admin.headers)
    assert missing.status_code == 404
    assert missing.json()["code"] == "client_not_found"


async def test_access_rights_are_stored_and_served(
    client: httpx.AsyncClient, admin: ApiCredentials, make_api_client: MakeClient
) -> None:
    consumer = await make_api_client("consumer")
    put = await client.put(
        f"/v1/clients/{consumer.client_id}/access-rights", headers=admin.headers, json=RIGHTS
    )
    assert put.status_code == 200, put.text
    got = await client.get(f"/v1/clients/{consumer.client_id}/access-rights", headers=admin.headers)
    assert got.json()["rights"] == RIGHTS["rights"]


async def test_access_rights_naming_unknown_types_or_fields_are_refused_listing_each(
    client: httpx.AsyncClient, admin: ApiCredentials, make_api_client: MakeClient
) -> None:
    consumer = await make_api_client("consumer")
    bad = {
        "rights": [
            {"record_type": "Unicorn", "fields": ["horn"], "purposes": ["magic"]},
            {
                "record_type": "Person",
                "fields": ["full_name", "shoe_size", "favourite_colour"],
                "purposes": ["Not A Slug!"],
            },
        ]
    }
    answer = await client.put(
        f"/v1/clients/{consumer.client_id}/access-rights", headers=admin.headers, json=bad
    )
    assert answer.status_code == 422
    problem = answer.json()
    assert problem["code"] == "invalid_access_rights"
    assert [(e["path"], e["code"]) for e in problem["errors"]] == [
        ("/rights/0/record_type", "unknown_record_type"),
        ("/rights/1/fields/1", "unknown_field"),
        ("/rights/1/fields/2", "unknown_field"),
        ("/rights/1/purposes/0", "invalid_purpose"),
    ]
    kept = await client.get(
        f"/v1/clients/{consumer.client_id}/access-rights", headers=admin.headers
    )
    assert kept.json()["rights"] == []
    nobody = await client.put(
        f"/v1/clients/{'0' * 36}/access-rights", headers=admin.headers, json=RIGHTS
    )
    assert nobody.status_code == 404


async def test_an_unusable_officer_header_refuses_an_admin_action_before_anything_changes(
    app: FastAPI, client: httpx.AsyncClient, admin: ApiCredentials
) -> None:
    # The one rule of every route that names an officer: a value the access log's columns
    # cannot hold is refused (it used to be left out of the admin's event).
    refused = await client.post(
        "/v1/clients",
        headers={**admin.headers, "X-User-Id": "o" * 300, "X-Case-Id": "case-7"},
        json={"name": "long-officer", "agency": "Test agency", "roles": ["consumer"]},
    )
    assert (refused.status_code, refused.json()["code"]) == (400, "invalid_header")
    created = await client.post(
        "/v1/clients",
        headers={**admin.headers, "X-User-Id": "officer-1", "X-Case-Id": "case-7"},
        json={"name": "long-officer", "agency": "Test agency", "roles": ["consumer"]},
    )
    assert created.status_code == 201, created.text
    async with app.state.hub.sessionmaker() as session:
        event = (
            await session.scalars(
                select(AuditEvent).where(AuditEvent.kind == EventKind.CLIENT_CREATED)
            )
        ).one()
    assert (event.officer_id, event.case_id) == ("officer-1", "case-7")
