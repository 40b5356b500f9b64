"""Building consents for the consent tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from app.config import Settings
from app.consent.approval import APPROVAL_CLAIM, consent_hash
from app.consent.basis import Basis, decide_basis
from app.consent.schemas import ConsentCreate
from app.security.citizen import issue_citizen_token
from tests.helpers.clients import ApiCredentials

CITIZEN = "001203012345"
OTHER_CITIZEN = "079198000321"
PURPOSE = "birth-registration"


def iso(moment: datetime) -> str:
    return moment.isoformat()


def consent_body(**overrides: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    body: dict[str, Any] = {
        "subject": CITIZEN,
        "purpose": PURPOSE,
        "scope": [{"record_type": "Person", "fields": ["full_name", "date_of_birth"]}],
        "validity": {
            "start": iso(now - timedelta(minutes=1)),
            "expiry": iso(now + timedelta(days=30)),
        },
        "fetch_type": "ONE_TIME",
        "capture": {"channel": "portal", "captured_at": iso(now - timedelta(minutes=1))},
    }
    body.update(overrides)
    return body


@dataclass(frozen=True)
class Consumer(ApiCredentials):
    """A consumer client, with the settings whose mock eID issuer signs citizens' approvals."""

    settings: Settings | None = None


def approval_token(
    settings: Settings,
    client_id: str,
    body: dict[str, Any],
    *,
    citizen_id: str | None = None,
    ttl_seconds: int = 600,
) -> str:
    """The citizen's signed approval of ``body`` as recorded by ``client_id``."""
    digest = consent_hash(client_id, ConsentCreate.model_validate(body))
    return issue_citizen_token(
        settings,
        citizen_id or body["subject"],
        ttl_seconds=ttl_seconds,
        extra_claims={APPROVAL_CLAIM: digest},
    )


async def record(
    client: httpx.AsyncClient, consumer: Consumer, *, approve: bool = True, **overrides: Any
) -> dict[str, Any]:
    """Record a consent; with ``approve`` (the default) it carries the citizen's signed
    approval and is ACTIVE, without it PENDING."""
    body = consent_body(**overrides)
    if approve:
        assert consumer.settings is not None
        body["citizen_approval"] = approval_token(consumer.settings, consumer.client_id, body)
    answer = await client.post(
        "/v1/consents", json=body, headers={**consumer.headers, "X-User-Id": "officer-7"}
    )
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    assert created["status"] == ("ACTIVE" if approve else "PENDING")
    return created


def citizen_headers(settings: Settings, citizen_id: str = CITIZEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_citizen_token(settings, citizen_id)}"}


async def decide(
    app: FastAPI,
    consumer: Consumer,
    *,
    fields: tuple[str, ...] = ("full_name",),
    record_type: str = "Person",
    purpose: str = PURPOSE,
    subject_id: str = CITIZEN,
    legal_basis: str | None = None,
    now: datetime | None = None,
) -> Basis:
    async with app.state.hub.sessionmaker() as session:
        return await decide_basis(
            session,
            client_id=consumer.client_id,
            subject_id=subject_id,
            record_type=record_type,
            fields=list(fields),
            purpose=purpose,
            legal_basis=legal_basis,
            now=now,
            audit=app.state.hub.audit,
        )
