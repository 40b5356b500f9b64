"""Procedure grants: which procedures a client may file, set by an admin beside access rights."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.events import EventKind
from tests.helpers.clients import ApiCredentials, MakeClient

TRANSFER = "land-use-right-transfer"
BIRTH = "birth-registration"


async def test_an_admin_sets_reads_and_sees_a_clients_procedure_grants_and_it_is_audited(
    app: FastAPI, client: httpx.AsyncClient, admin: ApiCredentials, make_api_client: MakeClient
) -> None:
    consumer = await make_api_client("consumer")
    url = f"/v1/clients/{consumer.client_id}/procedure-grants"
    before = await client.get(url, headers=admin.headers)
    assert before.status_code == 200
    assert before.json() == {"client_id": consumer.client_id, "procedures": []}

    put = await client.put(
        url, headers=admin.headers, json={"procedures": [TRANSFER, BIRTH, TRANSFER]}
    )
    assert put.status_code == 200, put.text
    assert put.json() == {"client_id": consumer.client_id, "procedures": [BIRTH, TRANSFER]}
    assert (await client.get(url, headers=admin.headers)).json()["procedures"] == [
        BIRTH,
        TRANSFER,
    ]
    shown = await client.get(f"/v1/clients/{consumer.client_id}", headers=admin.headers)
    assert shown.json()["procedures"] == [BIRTH, TRANSFER]
    listed = await client.get("/v1/clients", headers=admin.headers)
    by_id = {c["id"]: c for c in listed.json()}
    assert by_id[consumer.client_id]["procedures"] == [BIRTH, TRANSFER]
    assert by_id[admin.client_id]["procedures"] == []

    async with app.state.hub.sessionmaker() as session:
        event = (
            await session.scalars(
                select(AuditEvent).where(AuditEvent.kind == EventKind.PROCEDURE_GRANTS_CHANGED)
            )
        ).one()
    assert event.client_id == admin.client_id
    assert event.details == {"client": consumer.client_id, "procedures": [BIRTH, TRANSFER]}


async def test_a_grant_naming_an_unknown_procedure_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, admin: ApiCredentials, make_api_client: MakeClient
) -> None:
    consumer = await make_api_client("consumer")
    url = f"/v1/clients/{consumer.client_id}/procedure-grants"
    await client.put(url, headers=admin.headers, json={"procedures": [BIRTH]})

    refused = await client.put(
        url, headers=admin.headers, json={"procedures": [TRANSFER, "no-such-procedure", ""]}
    )
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["code"] == "request_invalid"  # the empty code fails the schema

    unknown = await client.put(
        url, headers=admin.headers, json={"procedures": [TRANSFER, "no-such-procedure"]}
    )
    assert unknown.status_code == 422
    assert unknown.json()["code"] == "invalid_procedure_grants"
    assert [(e["path"], e["code"]) for e in unknown.json()["errors"]] == [
        ("/procedures/1", "unknown_procedure")
    ]
    assert (await client.get(url, headers=admin.headers)).json()["procedures"] == [BIRTH]


async def test_only_an_admin_manages_procedure_grants_and_of_a_known_client(
    client: httpx.AsyncClient, admin: ApiCredentials, make_api_client: MakeClient
) -> None:
    consumer = await make_api_client("consumer")
    own = f"/v1/clients/{consumer.client_id}/procedure-grants"
    granted_self = await client.put(own, headers=consumer.headers, json={"procedures": [TRANSFER]})
    assert granted_self.status_code == 403
    assert (await client.get(own, headers=consumer.headers)).status_code == 403
    assert (await client.get(own)).status_code == 401

    missing = "/v1/clients/00000000-0000-0000-0000-000000000000/procedure-grants"
    for answer in (
        await client.get(missing, headers=admin.headers),
        await client.put(missing, headers=admin.headers, json={"procedures": [BIRTH]}),
    ):
        assert answer.status_code == 404
        assert answer.json()["code"] == "client_not_found"
