"""A client cannot activate a consent on its own: it is PENDING until the citizen approves it,
in their own view or by a signed approval (an eID token binding the consent's hash)."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

import httpx
import jwt
import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI
from sqlalchemy import select
from typer.testing import CliRunner

from app.audit.models import AuditEvent
from app.cli import cli
from app.config import Settings
from app.consent.approval import consent_hash
from app.consent.basis import Basis
from app.consent.schemas import ConsentCreate
from app.errors import HubError
from app.security.citizen import issue_citizen_token
from tests.helpers.consents import (
    CITIZEN,
    OTHER_CITIZEN,
    Consumer,
    approval_token,
    citizen_headers,
    consent_body,
    decide,
    record,
)


async def refusal_code(app: FastAPI, consumer: Consumer) -> str:
    """The code a pull under the test's consent terms is refused with."""
    with pytest.raises(HubError) as caught:
        await decide(app, consumer)
    assert caught.value.status == 403
    return caught.value.code


async def post(client: httpx.AsyncClient, consumer: Consumer, body: Any) -> httpx.Response:
    return await client.post("/v1/consents", json=body, headers=consumer.headers)


@pytest.mark.parametrize("channel", ["counter", "portal", "app", "kiosk"])
async def test_a_consent_a_client_records_is_pending_and_no_basis_whatever_its_channel(
    app: FastAPI, client: httpx.AsyncClient, consumer: Consumer, channel: str
) -> None:
    body = consent_body()
    body["capture"]["channel"] = channel
    answer = await post(client, consumer, body)
    assert answer.status_code == 201, answer.text
    assert answer.json()["status"] == "PENDING"
    assert answer.json()["activated_at"] is None
    assert await refusal_code(app, consumer) == "consent_not_active"


async def test_a_client_cannot_ask_for_an_active_status(
    client: httpx.AsyncClient, consumer: Consumer, settings: Settings
) -> None:
    answer = await post(client, consumer, consent_body(status="ACTIVE"))
    assert answer.status_code == 422
    assert answer.json()["code"] == "request_invalid"
    assert (await client.get("/v1/me/consents", headers=citizen_headers(settings))).json() == []


async def test_the_citizens_signed_approval_of_these_terms_makes_the_consent_active_at_once(
    app: FastAPI, client: httpx.AsyncClient, consumer: Consumer
) -> None:
    consent = await record(client, consumer)
    assert consent["status"] == "ACTIVE" and consent["activated_at"]
    assert await decide(app, consumer) == Basis(kind="consent", reference=consent["id"])


def _other_issuer_token(settings: Settings, body: dict[str, Any], client_id: str) -> str:
    now = int(time.time())
    claims = {
        "iss": settings.eid_issuer,
        "aud": settings.eid_audience,
        "sub": body["subject"],
        "iat": now,
        "exp": now + 600,
        "consent_sha256": consent_hash(client_id, ConsentCreate.model_validate(body)),
    }
    return jwt.encode(claims, Ed25519PrivateKey.generate(), algorithm="EdDSA")


BAD_APPROVALS = {
    "other_terms": "hash_mismatch",
    "other_client": "hash_mismatch",
    "other_citizen": "wrong_subject",
    "expired": "expired",
    "other_issuer": "invalid_token",
    "plain_login_token": "hash_mismatch",
}


@pytest.mark.parametrize("case", sorted(BAD_APPROVALS))
async def test_an_approval_that_does_not_bind_this_consent_is_refused_and_nothing_recorded(
    app: FastAPI,
    client: httpx.AsyncClient,
    consumer: Consumer,
    settings: Settings,
    case: str,
) -> None:
    body = consent_body()
    wider = consent_body(
        scope=[{"record_type": "Person", "fields": ["full_name", "date_of_birth", "sex"]}]
    )
    wider["validity"] = body["validity"]
    tokens = {
        "other_terms": lambda: approval_token(settings, consumer.client_id, wider),
        "other_client": lambda: approval_token(settings, "another-client", body),
        "other_citizen": lambda: approval_token(
            settings, consumer.client_id, {**body, "subject": OTHER_CITIZEN}
        ),
        "expired": lambda: approval_token(settings, consumer.client_id, body, ttl_seconds=-60),
        "other_issuer": lambda: _other_issuer_token(settings, body, consumer.client_id),
        "plain_login_token": lambda: issue_citizen_token(settings, CITIZEN),
    }
    refused = await post(client, consumer, {**body, "citizen_approval": tokens[case]()})
    assert refused.status_code == 403, refused.text
    assert refused.json()["code"] == "consent_approval_invalid"
    assert refused.json()["reason"] == BAD_APPROVALS[case]
    mine = await client.get("/v1/me/consents", headers=citizen_headers(settings))
    assert mine.json() == []
    assert await refusal_code(app, consumer) == "no_basis"


async def test_a_replayed_approval_cannot_bring_back_a_consent_the_citizen_revoked(
    app: FastAPI, client: httpx.AsyncClient, consumer: Consumer, settings: Settings
) -> None:
    body = consent_body()
    body["citizen_approval"] = approval_token(settings, consumer.client_id, body)
    first = await post(client, consumer, body)
    assert first.status_code == 201, first.text
    revoked = await client.post(
        f"/v1/me/consents/{first.json()['id']}/revoke", headers=citizen_headers(settings)
    )
    assert revoked.status_code == 200, revoked.text
    replayed = await post(client, consumer, body)
    assert replayed.status_code == 403, replayed.text
    assert replayed.json()["code"] == "consent_approval_invalid"
    assert replayed.json()["reason"] == "already_used"
    mine = await client.get("/v1/me/consents", headers=citizen_headers(settings))
    assert [c["status"] for c in mine.json()] == ["REVOKED"]
    assert await refusal_code(app, consumer) == "consent_revoked"


async def test_the_citizen_approves_a_pending_consent_in_their_view_and_it_is_audited(
    app: FastAPI, client: httpx.AsyncClient, consumer: Consumer, settings: Settings
) -> None:
    pending = await record(client, consumer, approve=False)
    assert await refusal_code(app, consumer) == "consent_not_active"
    approved = await client.post(
        f"/v1/me/consents/{pending['id']}/approve", headers=citizen_headers(settings)
    )
    assert approved.status_code == 200
    assert approved.json()["status"] == "ACTIVE"
    assert (await decide(app, consumer)).reference == pending["id"]
    async with app.state.hub.sessionmaker() as session:
        events = (
            await session.scalars(
                select(AuditEvent)
                .where(AuditEvent.kind == "consent.changed")
                .order_by(AuditEvent.seq)
            )
        ).all()
    assert [(e.details["from"], e.details["to"], e.details["actor"]) for e in events] == [
        ("NONE", "PENDING", "consumer"),
        ("PENDING", "ACTIVE", "citizen"),
    ]


def test_the_consent_hash_is_sha256_over_the_documented_canonical_terms() -> None:
    body = consent_body(
        validity={"start": "2026-12-01T08:00:00+07:00", "expiry": "2026-12-31T00:00:00.5Z"},
        scope=[{"record_type": "Person", "fields": ["full_name", "date_of_birth", "full_name"]}],
        fetch_type="PERIODIC",
        max_uses_per_period=2,
        period="month",
    )
    terms = {
        "client_id": "client-1",
        "subject": CITIZEN,
        "purpose": "birth-registration",
        "scope": [{"record_type": "Person", "fields": ["full_name", "date_of_birth"]}],
        "validity": {"start": "2026-12-01T01:00:00Z", "expiry": "2026-12-31T00:00:00.500000Z"},
        "fetch_type": "PERIODIC",
        "max_uses_per_period": 2,
        "period": "month",
    }
    canonical = orjson.dumps(terms, option=orjson.OPT_SORT_KEYS)
    assert canonical.startswith(b'{"client_id":"client-1","fetch_type":"PERIODIC",')
    expected = hashlib.sha256(canonical).hexdigest()
    assert consent_hash("client-1", ConsentCreate.model_validate(body)) == expected


async def test_citizen_token_mints_an_approval_the_hub_accepts(
    client: httpx.AsyncClient,
    consumer: Consumer,
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HUB_DATA_DIR", str(settings.data_dir))
    body = consent_body()
    path = tmp_path / "consent.json"
    path.write_bytes(orjson.dumps(body))
    minted = CliRunner().invoke(
        cli,
        ["citizen-token", CITIZEN, "--approve-consent", str(path), "--client", consumer.client_id],
    )
    assert minted.exit_code == 0, minted.output
    answer = await post(client, consumer, {**body, "citizen_approval": minted.stdout.strip()})
    assert answer.status_code == 201, answer.text
    assert answer.json()["status"] == "ACTIVE"

    wrong_subject = CliRunner().invoke(
        cli,
        ["citizen-token", OTHER_CITIZEN, "--approve-consent", str(path), "--client", "c"],
    )
    assert wrong_subject.exit_code == 2
    no_client = CliRunner().invoke(cli, ["citizen-token", CITIZEN, "--approve-consent", str(path)])
    assert no_client.exit_code == 2
