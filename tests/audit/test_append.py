"""Appending to the access log: durable before it returns, group commit, no personal data,
and ``audit_unavailable`` when the store cannot be written."""

from __future__ import annotations

import asyncio
import hashlib

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, text

from app.audit.errors import AuditUnavailable
from app.audit.models import AuditEvent
from app.audit.serialize import canonical_json, request_hash, response_hash
from app.audit.service import AuditLog
from app.db import create_engine, create_sessionmaker
from app.events import AuditEntry, EventKind, Outcome
from tests.helpers.clients import ApiCredentials

CITIZEN = "001099012345"
OTHER_CITIZEN = "079185000123"


def _pull(subject: str = CITIZEN, **extra: object) -> AuditEntry:
    entry = AuditEntry(
        kind=EventKind.DATA_PULL,
        outcome=Outcome.ALLOWED,
        client_id="client-1",
        agency="Sở Tư pháp Hà Nội",
        officer_id="officer-7",
        subject_id=subject,
        record_type="Person",
        fields=["hoVaTen", "ngaySinh"],
        purpose="birth-registration",
        request_id="req-0000001",
    )
    for name, value in extra.items():
        setattr(entry, name, value)
    return entry


async def test_an_acknowledged_append_is_on_disk_with_its_id(
    app: FastAPI, database_url: str
) -> None:
    audit: AuditLog = app.state.hub.audit
    first = await audit.append(_pull())
    second = await audit.append(_pull())
    assert second > first
    # A separate engine (another process would see the same) finds both at once.
    engine = create_engine(database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            rows = (await session.scalars(select(AuditEvent).order_by(AuditEvent.seq))).all()
    finally:
        await engine.dispose()
    assert [r.seq for r in rows][-2:] == [first, second]
    assert rows[-1].fields == ["hoVaTen", "ngaySinh"]
    assert rows[-1].subject_hmac == audit.subject_hmac(CITIZEN)
    assert rows[-1].subject_hint == "0010******45"


async def test_concurrent_appends_share_commits(app: FastAPI) -> None:
    audit: AuditLog = app.state.hub.audit
    before = (audit.stats.commits, audit.stats.events)
    seqs = await asyncio.gather(*(audit.append(_pull()) for _ in range(300)))
    commits = audit.stats.commits - before[0]
    assert audit.stats.events - before[1] == 300
    assert len(set(seqs)) == 300
    assert commits < 300 / 5, f"{commits} commits for 300 concurrent appends"
    assert audit.stats.largest_batch > 10


async def test_the_log_holds_no_clear_citizen_id_and_no_field_values(
    app: FastAPI, database_url: str
) -> None:
    audit: AuditLog = app.state.hub.audit
    value = "Nguyễn Văn An"  # a field value the caller holds; the entry names only the field
    await audit.append(_pull(CITIZEN, response_hash=response_hash({"hoVaTen": value})))
    await audit.append(_pull(OTHER_CITIZEN, outcome=Outcome.DENIED))
    async with app.state.hub.sessionmaker() as session:
        rows = (await session.execute(select(AuditEvent.__table__))).mappings().all()
    dump = canonical_json([{k: str(v) for k, v in r.items()} for r in rows]).decode()
    for secret in (CITIZEN, OTHER_CITIZEN, value):
        assert secret not in dump
    assert audit.subject_hmac(CITIZEN) in dump


def test_request_and_response_hashes_are_sha256_of_canonical_bytes() -> None:
    body = {"b": 1, "a": ["x", "ý"]}
    expected = hashlib.sha256('{"a":["x","ý"],"b":1}'.encode()).hexdigest()
    assert request_hash(body) == expected == response_hash({"a": ["x", "ý"], "b": 1})
    assert request_hash(b"raw bytes") == hashlib.sha256(b"raw bytes").hexdigest()


async def test_an_oversized_header_does_not_fail_the_shared_commit(app: FastAPI) -> None:
    audit: AuditLog = app.state.hub.audit
    seqs = await asyncio.gather(
        audit.append(_pull(officer_id="x" * 5000)), *(audit.append(_pull()) for _ in range(20))
    )
    assert len(set(seqs)) == 21
    limit = AuditEvent.__table__.c.officer_id.type.length
    async with app.state.hub.sessionmaker() as session:
        stored = await session.get(AuditEvent, seqs[0])
    assert stored is not None
    assert stored.officer_id == "x" * (limit - 1) + "…"  # cut to the column, and marked


@pytest.fixture
async def broken_store(app: FastAPI) -> object:
    """The audit table is out of reach (renamed away), and comes back afterwards."""
    async with app.state.hub.engine.begin() as conn:
        await conn.execute(text("ALTER TABLE audit_events RENAME TO audit_events_away"))
    yield
    async with app.state.hub.engine.begin() as conn:
        await conn.execute(text("ALTER TABLE audit_events_away RENAME TO audit_events"))


async def test_an_unwritable_log_raises_audit_unavailable(
    app: FastAPI, admin: ApiCredentials, client: httpx.AsyncClient, broken_store: object
) -> None:
    with pytest.raises(AuditUnavailable):
        await app.state.hub.audit.append(_pull())
    answer = await client.post(
        "/v1/clients",
        json={"name": "never-acknowledged", "agency": "Test", "roles": ["consumer"]},
        headers=admin.headers,
    )
    assert answer.status_code == 503
    assert answer.json()["code"] == "audit_unavailable"
    assert "api_key" not in answer.text
    assert app.state.hub.audit.stats.failed_commits >= 2
