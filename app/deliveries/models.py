"""The outbox: one row per delivery of a record (or a correction request) to the system that
holds the data, written in the transaction that decided it and sent afterwards."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base
from app.timestamps import UtcTimestamp

PENDING = "pending"
SENDING = "sending"  # claimed by an instance until lease_until
DELIVERED = "delivered"
FAILED = "failed"
STATES = (PENDING, SENDING, DELIVERED, FAILED)

RESULT = "result"  # an approved filing's result record
CORRECTION = "correction"  # a citizen's dispute, forwarded by an officer


class Delivery(Base):
    """``id`` is also the idempotency key the owning system sees: however often it is sent
    (retries, a takeover after a crash), the owner applies it once."""

    __tablename__ = "deliveries"
    __table_args__ = (
        Index("ix_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_deliveries_origin", "origin_kind", "origin_id"),
        Index("ix_deliveries_filing_id", "filing_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    origin_kind: Mapped[str] = mapped_column(String(20))
    origin_id: Mapped[str] = mapped_column(String(36))
    filing_id: Mapped[str | None] = mapped_column(String(36))
    procedure: Mapped[str | None] = mapped_column(String(100))
    record_type: Mapped[str] = mapped_column(String(100))
    subject_id: Mapped[str | None] = mapped_column(String(32))
    system: Mapped[str] = mapped_column(String(40))
    connector_id: Mapped[str] = mapped_column(String(36))
    after_id: Mapped[str | None] = mapped_column(String(36))
    # Who decided it: the access-log envelope of every attempt.
    client_id: Mapped[str | None] = mapped_column(String(36))
    agency: Mapped[str | None] = mapped_column(String(300))
    officer_id: Mapped[str | None] = mapped_column(String(200))
    case_id: Mapped[str | None] = mapped_column(String(200))
    document: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcTimestamp())
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UtcTimestamp())
    error_code: Mapped[str | None] = mapped_column(String(60))
    reason: Mapped[str | None] = mapped_column(Text)
    source_status: Mapped[int | None] = mapped_column(Integer)
    returned: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = mapped_column(UtcTimestamp())
    updated_at: Mapped[datetime] = mapped_column(UtcTimestamp())
    delivered_at: Mapped[datetime | None] = mapped_column(UtcTimestamp())
