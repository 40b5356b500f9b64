"""Appending to the change log, and telling the rest of the hub in the same transaction.

The ingestion of the source systems' feeds (``app.changes.ingest``) is the only writer. A
*listener* (the subscriptions' fan-out, the sync-conflict check) gets the new events inside
the transaction that appends them, so what it derives commits with them or not at all.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import delete, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from app.changes.models import ChangeEvent
from app.timestamps import utcnow

ChangeListener = Callable[[AsyncSession, list[ChangeEvent]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class NewChange:
    """A change read from a feed, mapped onto the dictionary (no values)."""

    system: str
    connector_id: str
    source_seq: int
    record_type: str
    operation: str  # created | updated | deleted
    subject_id: str
    dictionary_version: str
    changed_fields: tuple[str, ...] = ()
    province_code: str | None = None
    source_reference: str | None = None
    record_version: int | None = None
    registered_at: datetime | None = None
    effective_on: date | None = None


async def append_changes(
    session: AsyncSession, changes: Sequence[NewChange], listeners: Sequence[ChangeListener] = ()
) -> list[ChangeEvent]:
    """Append the changes not already in the log (a feed entry is ingested once), in order,
    and hand the appended events to every listener; returns them."""
    if not changes:
        return []
    keys = [(c.system, c.source_seq, c.record_type) for c in changes]
    present = set(
        (
            await session.execute(
                select(ChangeEvent.system, ChangeEvent.source_seq, ChangeEvent.record_type).where(
                    tuple_(ChangeEvent.system, ChangeEvent.source_seq, ChangeEvent.record_type).in_(
                        keys
                    )
                )
            )
        ).all()
    )
    now = utcnow()
    events = [
        ChangeEvent(
            system=c.system,
            connector_id=c.connector_id,
            source_seq=c.source_seq,
            record_type=c.record_type,
            operation=c.operation,
            subject_id=c.subject_id,
            province_code=c.province_code,
            source_reference=c.source_reference,
            record_version=c.record_version,
            changed_fields=list(c.changed_fields),
            dictionary_version=c.dictionary_version,
            registered_at=c.registered_at,
            effective_on=c.effective_on,
            ingested_at=now,
        )
        for c in changes
        if (c.system, c.source_seq, c.record_type) not in present
    ]
    if not events:
        return []
    session.add_all(events)
    await session.flush()
    for listener in listeners:
        await listener(session, events)
    return events


async def purge_changes(session: AsyncSession, before: datetime, keep_from: int | None) -> int:
    """Delete the changes ingested before ``before`` (the retention window), except those
    from sequence ``keep_from`` on, which a reader still has to send; the number deleted."""
    query = delete(ChangeEvent).where(ChangeEvent.ingested_at < before)
    if keep_from is not None:
        query = query.where(ChangeEvent.seq < keep_from)
    purged = await session.execute(query.execution_options(synchronize_session=False))
    return int(getattr(purged, "rowcount", 0) or 0)
