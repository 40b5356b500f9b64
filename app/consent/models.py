"""The consent table: one row per consent, its lifecycle state and its usage counter.

Every read of a consent goes to this table; no instance keeps consents in memory, so a
revocation committed by one hub instance is seen by the very next pull on any other.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base
from app.timestamps import UtcTimestamp


class ConsentStatus(StrEnum):
    PENDING = "PENDING"
    ACTIVE = "ACTIVE"
    REVOKED = "REVOKED"
    EXPIRED = "EXPIRED"
    REJECTED = "REJECTED"


class FetchType(StrEnum):
    ONE_TIME = "ONE_TIME"
    PERIODIC = "PERIODIC"


class Period(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"


class Consent(Base):
    """A subject's consent that one client may pull a scope of record fields for one purpose.

    ``subject_id`` is the citizen ID: the consent must be matched against pulls about that
    citizen, so unlike the access log it is kept in clear (the receipt carries only an HMAC).
    ``period_key``/``period_uses`` count uses in the current period ("once" for ONE_TIME);
    they change only through one conditional UPDATE, so concurrent pulls cannot overspend.
    """

    __tablename__ = "consents"
    __table_args__ = (
        Index("ix_consents_subject_id_client_id", "subject_id", "client_id"),
        Index("ix_consents_client_id", "client_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    receipt_id: Mapped[str] = mapped_column(String(36), unique=True)
    subject_id: Mapped[str] = mapped_column(String(12))
    client_id: Mapped[str] = mapped_column(ForeignKey("api_clients.id"))
    agency: Mapped[str] = mapped_column(String(300))
    purpose: Mapped[str] = mapped_column(String(100))
    scope: Mapped[list[Any]]
    status: Mapped[str] = mapped_column(String(20))
    valid_from: Mapped[datetime] = mapped_column(UtcTimestamp())
    valid_until: Mapped[datetime] = mapped_column(UtcTimestamp())
    fetch_type: Mapped[str] = mapped_column(String(20))
    max_uses_per_period: Mapped[int] = mapped_column(Integer)
    period: Mapped[str | None] = mapped_column(String(10), default=None)
    use_count: Mapped[int] = mapped_column(Integer, default=0)
    period_key: Mapped[str | None] = mapped_column(String(20), default=None)
    period_uses: Mapped[int] = mapped_column(Integer, default=0)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcTimestamp(), default=None)
    channel: Mapped[str] = mapped_column(String(20))
    captured_at: Mapped[datetime] = mapped_column(UtcTimestamp())
    captured_by: Mapped[str | None] = mapped_column(String(200), default=None)
    language: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UtcTimestamp())
    updated_at: Mapped[datetime] = mapped_column(UtcTimestamp())
    activated_at: Mapped[datetime | None] = mapped_column(UtcTimestamp(), default=None)
    ended_at: Mapped[datetime | None] = mapped_column(UtcTimestamp(), default=None)
    ended_by: Mapped[str | None] = mapped_column(String(20), default=None)
    end_reason: Mapped[str | None] = mapped_column(Text, default=None)
    # The consent hash a citizen-signed approval bound; unique, so one approval activates
    # one consent: replaying it cannot re-create a consent the citizen revoked or spent.
    approval_sha256: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
