"""The hub's change log: every change the source systems report in their feeds, in the order
the hub ingested them, with where each feed was read up to."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Date, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base
from app.timestamps import UtcTimestamp

CREATED = "created"
UPDATED = "updated"
DELETED = "deleted"
# The hub's own news about a subject: two systems' records about them stopped agreeing, or
# agree again (app/conflicts).
CONFLICT_OPENED = "conflict_opened"
CONFLICT_CLOSED = "conflict_closed"
OPERATIONS = (CREATED, UPDATED, DELETED, CONFLICT_OPENED, CONFLICT_CLOSED)


class ChangeEvent(Base):
    """One change of one record at its source. ``seq`` orders the log (a subscriber's
    position); ``(system, source_seq)`` is unique, so a feed entry is ingested once however
    many instances read the feed. No field values: ``changed_fields`` names the dictionary
    fields that changed, and a subscriber pulls the values through the data path."""

    __tablename__ = "change_events"
    __table_args__ = (
        UniqueConstraint("system", "source_seq", "record_type", name="uq_change_events_source"),
        Index("ix_change_events_record_type_seq", "record_type", "seq"),
        Index("ix_change_events_subject_id", "subject_id"),
        Index("ix_change_events_ingested_at", "ingested_at"),
    )

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    system: Mapped[str] = mapped_column(String(40))
    connector_id: Mapped[str] = mapped_column(String(36))
    source_seq: Mapped[int] = mapped_column(BigInteger)
    record_type: Mapped[str] = mapped_column(String(100))
    operation: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[str] = mapped_column(String(32))
    province_code: Mapped[str | None] = mapped_column(String(8))
    source_reference: Mapped[str | None] = mapped_column(String(300))
    record_version: Mapped[int | None] = mapped_column(Integer)
    changed_fields: Mapped[list[Any]]
    dictionary_version: Mapped[str] = mapped_column(String(40))
    registered_at: Mapped[datetime | None] = mapped_column(UtcTimestamp())
    effective_on: Mapped[date | None] = mapped_column(Date)
    ingested_at: Mapped[datetime] = mapped_column(UtcTimestamp())


class FeedCursor(Base):
    """How far the hub has read one connector's change feed (survives restarts)."""

    __tablename__ = "feed_cursors"

    connector_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    system: Mapped[str] = mapped_column(String(40))
    source_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    source_last_seq: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UtcTimestamp())
