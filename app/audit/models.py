"""The access log's tables."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base


class AuditEvent(Base):
    """One access or administrative action. Field names only, never field values; the
    subject only as a keyed HMAC and a masked hint."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_subject_hmac_seq", "subject_hmac", "seq"),
        Index("ix_audit_events_client_id_seq", "client_id", "seq"),
        Index("ix_audit_events_ts", "ts"),
    )

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    ts: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    kind: Mapped[str] = mapped_column(String(60))
    client_id: Mapped[str | None] = mapped_column(String(36))
    agency: Mapped[str | None] = mapped_column(String(300))
    officer_id: Mapped[str | None] = mapped_column(String(200))
    case_id: Mapped[str | None] = mapped_column(String(200))
    subject_hmac: Mapped[str | None] = mapped_column(String(64))
    subject_hint: Mapped[str | None] = mapped_column(String(32))
    record_type: Mapped[str | None] = mapped_column(String(100))
    fields: Mapped[list[Any]]
    purpose: Mapped[str | None] = mapped_column(String(100))
    procedure: Mapped[str | None] = mapped_column(String(100))
    filing_id: Mapped[str | None] = mapped_column(String(36))
    basis: Mapped[str | None] = mapped_column(String(500))
    outcome: Mapped[str] = mapped_column(String(20))
    error_code: Mapped[str | None] = mapped_column(String(60))
    request_id: Mapped[str | None] = mapped_column(String(64))
    request_hash: Mapped[str | None] = mapped_column(String(64))
    response_hash: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]]
