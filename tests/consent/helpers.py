"""Building consents for the consent tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from app.config import Settings
from app.consent.basis import Basis, decide_basis
from app.security.citizen import issue_citizen_token
from tests.conftest import ApiCredentials

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


async def record(
    client: httpx.AsyncClient, consumer: ApiCredentials, **overrides: Any
) -> dict[str, Any]:
    answer = await client.post(
        "/v1/consents",
        json=consent_body(**overrides),
        headers={**consumer.headers, "X-User-Id": "officer-7"},
    )
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    return created


def citizen_headers(settings: Settings, citizen_id: str = CITIZEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_citizen_token(settings, citizen_id)}"}


async def decide(
    app: FastAPI,
    consumer: ApiCredentials,
    *,
    fields: tuple[str, ...] = ("full_name",),
    record_type: str = "Person",
    purpose: str = PURPOSE,
    subject_id: str = CITIZEN,
    legal_basis: str | None = None,
    now: datetime | None = None,
) -> Basis:
    async with app.state.sessionmaker() as session:
        return await decide_basis(
            session,
            client_id=consumer.client_id,
            subject_id=subject_id,
            record_type=record_type,
            fields=list(fields),
            purpose=purpose,
            legal_basis=legal_basis,
            now=now,
            audit=app.state.audit,
        )
