"""The citizen's view: their own consents only, and revocation that bites at once."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from app.config import Settings
from app.errors import HubError
from tests.helpers.consents import CITIZEN, OTHER_CITIZEN, Consumer, citizen_headers, decide, record


async def test_a_citizen_lists_their_own_consents_in_every_state(
    client: httpx.AsyncClient, consumer: Consumer, settings: Settings
) -> None:
    active = await record(client, consumer)
    revoked = await record(client, consumer, purpose="death-registration")
    await client.post(
        f"/v1/consents/{revoked['id']}/revoke", json={"reason": "x"}, headers=consumer.headers
    )
    pending = await record(client, consumer, approve=False, purpose="marriage-registration")
    someone_else = await record(client, consumer, subject=OTHER_CITIZEN)

    mine = await client.get("/v1/me/consents", headers=citizen_headers(settings))
    assert mine.status_code == 200
    states = {c["id"]: c["status"] for c in mine.json()}
    assert states == {active["id"]: "ACTIVE", revoked["id"]: "REVOKED", pending["id"]: "PENDING"}
    theirs = await client.get("/v1/me/consents", headers=citizen_headers(settings, OTHER_CITIZEN))
    assert [c["id"] for c in theirs.json()] == [someone_else["id"]]


async def test_a_citizen_cannot_see_or_change_another_citizens_consent(
    client: httpx.AsyncClient, consumer: Consumer, settings: Settings
) -> None:
    consent = await record(client, consumer, approve=False)
    intruder = citizen_headers(settings, OTHER_CITIZEN)
    base = f"/v1/me/consents/{consent['id']}"
    for answer in (
        await client.post(f"{base}/revoke", headers=intruder),
        await client.post(f"{base}/approve", headers=intruder),
        await client.post(f"{base}/reject", headers=intruder),
        await client.get(f"{base}/receipt", headers=intruder),
    ):
        assert answer.status_code == 404, answer.text
        assert answer.json()["code"] == "consent_not_found"
    unchanged = await client.get(f"/v1/consents/{consent['id']}", headers=consumer.headers)
    assert unchanged.json()["status"] == "PENDING"


async def test_a_citizens_revocation_blocks_the_next_pull_at_once(
    app: FastAPI, client: httpx.AsyncClient, consumer: Consumer, settings: Settings
) -> None:
    consent = await record(
        client, consumer, fetch_type="PERIODIC", max_uses_per_period=10, period="day"
    )
    assert (await decide(app, consumer)).kind == "consent"
    revoked = await client.post(
        f"/v1/me/consents/{consent['id']}/revoke",
        json={"reason": "I changed my mind"},
        headers=citizen_headers(settings),
    )
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["status"] == "REVOKED" and revoked.json()["ended_by"] == "citizen"
    with pytest.raises(HubError) as caught:
        await decide(app, consumer)
    assert caught.value.code == "consent_revoked"
    again = await client.post(
        f"/v1/me/consents/{consent['id']}/revoke", headers=citizen_headers(settings)
    )
    assert again.status_code == 409
    assert again.json()["code"] == "illegal_consent_transition"


async def test_a_pending_consent_is_approved_or_rejected_once_by_its_citizen(
    client: httpx.AsyncClient, consumer: Consumer, settings: Settings
) -> None:
    me = citizen_headers(settings)
    first = await record(client, consumer, approve=False)
    no_receipt = await client.get(f"/v1/consents/{first['id']}/receipt", headers=consumer.headers)
    assert no_receipt.status_code == 409
    assert no_receipt.json()["code"] == "receipt_unavailable"
    approved = await client.post(f"/v1/me/consents/{first['id']}/approve", headers=me)
    assert approved.json()["status"] == "ACTIVE" and approved.json()["activated_at"]
    twice = await client.post(f"/v1/me/consents/{first['id']}/approve", headers=me)
    assert twice.status_code == 409 and twice.json()["code"] == "illegal_consent_transition"
    cannot_reject = await client.post(f"/v1/me/consents/{first['id']}/reject", headers=me)
    assert cannot_reject.status_code == 409

    second = await record(client, consumer, approve=False)
    rejected = await client.post(
        f"/v1/me/consents/{second['id']}/reject", json={"reason": "not me"}, headers=me
    )
    assert rejected.json()["status"] == "REJECTED"
    assert rejected.json()["end_reason"] == "not me"
    for action in ("approve", "revoke"):
        answer = await client.post(f"/v1/me/consents/{second['id']}/{action}", headers=me)
        assert answer.status_code == 409
        assert answer.json()["code"] == "illegal_consent_transition"


async def test_citizen_routes_refuse_api_keys_and_bad_tokens(
    client: httpx.AsyncClient, consumer: Consumer
) -> None:
    with_key = await client.get("/v1/me/consents", headers=consumer.headers)
    assert with_key.status_code == 403 and with_key.json()["code"] == "wrong_principal"
    forged = await client.get("/v1/me/consents", headers={"Authorization": "Bearer a.b.c"})
    assert forged.status_code == 401 and forged.json()["code"] == "invalid_citizen_token"


async def test_a_citizen_gets_the_same_signed_receipt_as_the_agency(
    client: httpx.AsyncClient, consumer: Consumer, settings: Settings
) -> None:
    consent = await record(client, consumer)
    citizen = await client.get(
        f"/v1/me/consents/{consent['id']}/receipt", headers=citizen_headers(settings)
    )
    agency = await client.get(f"/v1/consents/{consent['id']}/receipt", headers=consumer.headers)
    assert citizen.status_code == 200
    assert citizen.json() == agency.json()
    assert citizen.json()["receipt"]["piiPrincipalId"] != CITIZEN
