"""Subscriptions to the change log, and the webhook queue: one row per change to send to one
subscription, with its state, attempts and lease (the shape of ``app.deliveries``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base
from app.timestamps import UtcTimestamp

WEBHOOK = "webhook"
PULL = "pull"

# A subscription's states.
ACTIVE = "active"
PAUSED = "paused"  # by the subscriber: changes are queued and sent after a resume
FAILING = "failing"  # the last attempt of an event failed: nothing is sent until a replay
DISABLED = "disabled"  # the receiver answered 410 Gone: nothing is queued until a replay

# A queued event's states. PENDING, SENDING and FAILED hold back the subscription's later
# events (per-subscription order); the others do not.
PENDING = "pending"
SENDING = "sending"  # claimed by an instance until lease_until
DELIVERED = "delivered"
FAILED = "failed"  # its last attempt failed, or the receiver is gone
SKIPPED = "skipped"  # a replay from a later sequence passed over it
WITHHELD = "withheld"  # the subscriber no longer holds the access right: never sent
BLOCKING = (PENDING, SENDING, FAILED)
SETTLED = (DELIVERED, SKIPPED, WITHHELD)
EVENT_STATES = (PENDING, SENDING, DELIVERED, FAILED, SKIPPED, WITHHELD)


class Subscription(Base):
    """An agency client's subscription to changes of record types, under one purpose.

    The subject filter is kept as keyed HMACs of the citizen IDs (the access log's key), never
    in clear; the signing secrets are sealed with the connector-secret key."""

    __tablename__ = "subscriptions"
    __table_args__ = (Index("ix_subscriptions_status", "status"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(36), index=True)
    agency: Mapped[str | None] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(String(300))
    record_types: Mapped[list[Any]]
    purpose: Mapped[str] = mapped_column(String(100))
    province_codes: Mapped[list[Any]]
    subject_hmacs: Mapped[list[Any]]
    delivery: Mapped[str] = mapped_column(String(10))
    url: Mapped[str | None] = mapped_column(Text)
    secrets_sealed: Mapped[str | None] = mapped_column(Text)
    previous_secret_until: Mapped[datetime | None] = mapped_column(UtcTimestamp())
    status: Mapped[str] = mapped_column(String(20))
    status_reason: Mapped[str | None] = mapped_column(String(60))
    last_error_code: Mapped[str | None] = mapped_column(String(60))
    last_http_status: Mapped[int | None] = mapped_column(Integer)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UtcTimestamp())
    last_delivered_at: Mapped[datetime | None] = mapped_column(UtcTimestamp())
    created_at: Mapped[datetime] = mapped_column(UtcTimestamp())
    updated_at: Mapped[datetime] = mapped_column(UtcTimestamp())


class SubscriptionEvent(Base):
    """One change of the log to send to one webhook subscription."""

    __tablename__ = "subscription_events"
    __table_args__ = (
        UniqueConstraint("subscription_id", "change_seq", name="uq_subscription_events_change"),
        Index("ix_subscription_events_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    subscription_id: Mapped[str] = mapped_column(String(36))
    change_seq: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcTimestamp())
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UtcTimestamp())
    error_code: Mapped[str | None] = mapped_column(String(60))
    http_status: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcTimestamp())
    updated_at: Mapped[datetime] = mapped_column(UtcTimestamp())
    delivered_at: Mapped[datetime | None] = mapped_column(UtcTimestamp())
