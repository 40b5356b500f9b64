"""Shared steps of the connector and data-path tests: register a mock's connector over the
API, and give a consumer access rights."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.security import service as security_service
from app.security.schemas import AccessRightIn
from tests.helpers.clients import ApiCredentials, MakeClient

# Small limits so that faults show quickly; retries kept to one extra attempt.
FAST = {
    "timeouts": {"connect": 0.5, "read": 1.0, "total": 1.5},
    "retries": {"max_attempts": 2, "backoff_base": 0.01, "backoff_max": 0.02},
    "breaker": {
        "failure_threshold": 3,
        "error_rate": 0.9,
        "window": 20,
        "min_calls": 10,
        "open_seconds": 30,
    },
}
LEGAL = "Decree 278/2025/ND-CP, Art. 12"


def connector_body(mock_servers: Any, system: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "system": system,
        "base_url": mock_servers.url(system),
        "auth": mock_servers.auth(system),
        **FAST,
    }
    body.update(overrides)
    return body


async def register(
    client: httpx.AsyncClient,
    integrator: ApiCredentials,
    mock_servers: Any,
    system: str,
    **overrides: Any,
) -> dict[str, Any]:
    answer = await client.post(
        "/v1/connectors",
        headers=integrator.headers,
        json=connector_body(mock_servers, system, **overrides),
    )
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    if not overrides and not created["enabled"]:
        # The registration's probe runs under the FAST limits; on a loaded machine (the
        # suite runs on every core) one slow answer disables the connector. Probe once more
        # rather than let a test about something else fail on no_source.
        again = await client.patch(
            f"/v1/connectors/{created['id']}",
            headers=integrator.headers,
            json={"reprobe": True, "enabled": True},
        )
        assert again.status_code == 200, again.text
        created = again.json()
        assert created["enabled"] and created["probe"]["ok"], created["probe"]
    return created


async def grant(app: FastAPI, consumer: ApiCredentials, rights: list[dict[str, Any]]) -> None:
    async with app.state.hub.sessionmaker.begin() as session:
        await security_service.replace_access_rights(
            session,
            app.state.hub.dictionary,
            consumer.client_id,
            [AccessRightIn(**r) for r in rights],
        )
    app.state.hub.access_rights.evict(consumer.client_id)


def all_fields(app: FastAPI, record_type: str) -> list[str]:
    return [f.name for f in app.state.hub.dictionary.record_type(record_type).latest().fields]


async def consumer_for(
    app: FastAPI,
    make_api_client: MakeClient,
    rights: dict[str, list[str] | None],
    purpose: str = "identity-check",
    legal_basis: str | None = LEGAL,
) -> ApiCredentials:
    """A consumer granted ``rights`` (record type -> fields, None for all) for ``purpose``."""
    consumer = await make_api_client("consumer")
    await grant(
        app,
        consumer,
        [
            {
                "record_type": rt,
                "fields": fields or all_fields(app, rt),
                "purposes": [purpose],
                "legal_basis": legal_basis,
            }
            for rt, fields in rights.items()
        ],
    )
    return consumer


def pull_headers(
    consumer: ApiCredentials, purpose: str | None = "identity-check", user: str | None = "officer-1"
) -> dict[str, str]:
    headers = dict(consumer.headers)
    if purpose is not None:
        headers["X-Purpose"] = purpose
    if user is not None:
        headers["X-User-Id"] = user
    return headers


async def audit_events(app: FastAPI, kind: str | None = None) -> list[AuditEvent]:
    async with app.state.hub.sessionmaker() as session:
        query = select(AuditEvent).order_by(AuditEvent.seq)
        if kind is not None:
            query = query.where(AuditEvent.kind == kind)
        return list((await session.scalars(query)).all())
