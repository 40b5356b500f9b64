"""The access log's group commit isolates an event the database refuses: only that event's
request fails, every other event of the batch is committed and acknowledged, and no log line
quotes the refused value."""

from __future__ import annotations

import asyncio
import logging

import pytest
from fastapi import FastAPI
from sqlalchemy import select, text

from app.audit.errors import AuditUnavailable, UnloggableRequest
from app.audit.models import AuditEvent
from app.audit.service import AuditLog
from app.events import AuditEntry, EventKind, Outcome

SECRET = "079185000123-Nguyen-Van-An"  # a recognisable value that no log line may hold


def _entry(request_id: str, **changes: object) -> AuditEntry:
    entry = AuditEntry(
        kind=EventKind.DATA_PULL,
        outcome=Outcome.ALLOWED,
        client_id="client-1",
        officer_id="officer-7",
        record_type="Person",
        fields=["full_name"],
        purpose="identity-check",
        request_id=request_id,
    )
    for name, value in changes.items():
        setattr(entry, name, value)
    return entry


def _refused_entry(database_url: str, request_id: str) -> AuditEntry:
    """An event the database refuses: a NUL byte in a text column on PostgreSQL, a NOT NULL
    column left empty on SQLite (which stores NUL bytes)."""
    if database_url.startswith("postgresql"):
        return _entry(request_id, officer_id=f"{SECRET}\x00")
    return _entry(request_id, kind=None, officer_id=SECRET)


async def _stored_request_ids(app: FastAPI) -> set[str]:
    async with app.state.hub.sessionmaker() as session:
        return set((await session.scalars(select(AuditEvent.request_id))).all()) - {None}


async def test_one_refused_event_fails_only_its_own_request(
    app: FastAPI, database_url: str
) -> None:
    audit: AuditLog = app.state.hub.audit
    good = [f"good-{i:03d}" for i in range(40)]
    appends = [audit.append(_entry(rid)) for rid in good[:20]]
    appends.append(audit.append(_refused_entry(database_url, "bad-000")))
    appends.extend(audit.append(_entry(rid)) for rid in good[20:])
    results = await asyncio.gather(*appends, return_exceptions=True)

    refused = results.pop(20)
    assert isinstance(refused, UnloggableRequest)
    assert refused.code == "unloggable_request" and refused.status == 400
    assert all(isinstance(seq, int) for seq in results), results
    assert len(set(results)) == len(good)
    assert await _stored_request_ids(app) == set(good)
    assert audit.stats.refused_events == 1
    assert audit.stats.split_batches == 1, "the refused event shared no group commit"


async def test_events_after_a_refused_batch_are_written_in_shared_commits_again(
    app: FastAPI, database_url: str
) -> None:
    audit: AuditLog = app.state.hub.audit
    first = await asyncio.gather(
        audit.append(_entry("before")),
        audit.append(_refused_entry(database_url, "bad")),
        return_exceptions=True,
    )
    assert isinstance(first[0], int) and isinstance(first[1], UnloggableRequest)
    seqs = await asyncio.gather(*(audit.append(_entry(f"after-{i}")) for i in range(50)))
    assert len(set(seqs)) == 50
    assert await _stored_request_ids(app) == {"before", *(f"after-{i}" for i in range(50))}


async def test_an_unreachable_store_fails_every_waiter_with_audit_unavailable(
    app: FastAPI,
) -> None:
    audit: AuditLog = app.state.hub.audit
    async with app.state.hub.engine.begin() as conn:
        await conn.execute(text("ALTER TABLE audit_events RENAME TO audit_events_away"))
    try:
        results = await asyncio.gather(
            *(audit.append(_entry(f"lost-{i}")) for i in range(20)), return_exceptions=True
        )
    finally:
        async with app.state.hub.engine.begin() as conn:
            await conn.execute(text("ALTER TABLE audit_events_away RENAME TO audit_events"))
    assert all(isinstance(r, AuditUnavailable) for r in results), results
    assert audit.stats.refused_events == 0


def _logged_text(records: list[logging.LogRecord]) -> str:
    formatter = logging.Formatter()
    return "\n".join(formatter.format(record) for record in records)


async def test_a_refused_event_leaves_no_value_in_the_server_log(
    app: FastAPI, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    audit: AuditLog = app.state.hub.audit
    caplog.set_level(logging.DEBUG)
    results = await asyncio.gather(
        audit.append(_entry("neighbour")),
        audit.append(_refused_entry(database_url, "bad")),
        return_exceptions=True,
    )
    assert isinstance(results[1], UnloggableRequest)
    logged = _logged_text(caplog.records)
    assert "access log" in logged, "the refusal is logged"
    assert SECRET not in logged
    assert "079185000123" not in logged


async def test_a_database_error_never_carries_its_parameters_into_a_log_line(
    app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    log = logging.getLogger("hub.test")
    statement = text(
        "INSERT INTO audit_events (seq, ts, kind, outcome, officer_id, fields, details) "
        "VALUES (:seq, CURRENT_TIMESTAMP, :kind, 'ok', :officer, '[]', '{}')"
    )
    values = {"seq": 1, "kind": "data.pull", "officer": SECRET}
    async with app.state.hub.engine.begin() as conn:
        await conn.execute(statement, values)
    with pytest.raises(Exception) as raised:  # the same primary key again
        async with app.state.hub.engine.begin() as conn:
            await conn.execute(statement, values)
    try:
        raise RuntimeError("wrapped") from raised.value
    except RuntimeError:
        log.exception("unhandled error")  # as the hub's error handler logs one
    assert SECRET not in str(raised.value)
    assert SECRET not in _logged_text(caplog.records)
