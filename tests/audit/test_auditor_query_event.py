"""An auditor's search is logged with its filters, but a filter value that is not a name the
hub defines (a citizen ID typed into the case box, say) is kept only as its keyed hash: the
log is sealed forever and holds no clear citizen ID."""

from __future__ import annotations

import uuid

import httpx
import orjson
from fastapi import FastAPI
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.audit.query import FILTER_NAMES
from app.events import EventKind
from tests.helpers.clients import MakeClient

STRAY_ID = "079185000123"
# Every filter the search takes, but the subject (hashed by its own rule) and the two times:
# derived from the hub's list, so a filter added later is held to the same rule.
FREE_TEXT = tuple(name for name in FILTER_NAMES if name not in {"subject_hmac", "since", "until"})


async def _query_events(app: FastAPI) -> list[AuditEvent]:
    async with app.state.hub.sessionmaker() as session:
        statement = select(AuditEvent).where(AuditEvent.kind == EventKind.AUDIT_QUERY)
        return list((await session.scalars(statement.order_by(AuditEvent.seq))).all())


def _stored_text(event: AuditEvent) -> str:
    return " ".join(repr(getattr(event, c.key)) for c in AuditEvent.__table__.columns)


async def test_a_citizen_id_in_any_filter_is_recorded_only_as_its_keyed_hash(
    app: FastAPI, client: httpx.AsyncClient, make_api_client: MakeClient
) -> None:
    auditor = await make_api_client("auditor")
    for name in FREE_TEXT:
        for path in ("/v1/audit/events", "/v1/audit/stats", "/v1/audit/export"):
            answer = await client.get(path, params={name: STRAY_ID}, headers=auditor.headers)
            assert answer.status_code == 200, (path, name, answer.text)
    events = await _query_events(app)
    assert len(events) == 3 * len(FREE_TEXT)
    hashed = "hmac:" + app.state.hub.audit.subject_hmac(STRAY_ID)
    for event in events:
        assert STRAY_ID not in _stored_text(event)
        assert list(event.details["filters"].values()) == [hashed]


async def test_names_the_hub_defines_are_recorded_in_clear(
    app: FastAPI, client: httpx.AsyncClient, make_api_client: MakeClient
) -> None:
    auditor = await make_api_client("auditor")
    clear = {
        "record_type": "Person",
        "outcome": "denied",
        "kind": "data.pull",
        "error_code": "access_denied",
        "client_id": str(uuid.uuid4()),
        "filing_id": str(uuid.uuid4()),
        "request_id": uuid.uuid4().hex,
    }
    hashed = {"case_id": "inq-2026-1", "officer_id": "inspector-5", "record_type": "Persons"}
    for params in (clear, hashed):
        answer = await client.get("/v1/audit/events", params=params, headers=auditor.headers)
        assert answer.status_code == 200
    first, second = await _query_events(app)
    assert first.details["filters"] == clear
    audit = app.state.hub.audit
    assert second.details["filters"] == {
        name: "hmac:" + audit.subject_hmac(value) for name, value in hashed.items()
    }
    assert "inq-2026-1" not in orjson.dumps(second.details).decode()
