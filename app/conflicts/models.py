"""Sync conflicts: two systems' records about the same person that contradict each other."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base
from app.timestamps import UtcTimestamp

OPEN = "open"
CLOSED = "closed"


class SyncConflict(Base):
    """One rule broken for one subject, from when it was seen until the systems agree.
    ``fields`` names what disagrees; the values stay in the systems that hold them."""

    __tablename__ = "sync_conflicts"
    __table_args__ = (
        Index("ix_sync_conflicts_rule_subject_status", "rule", "subject_id", "status"),
        Index("ix_sync_conflicts_status_opened_at", "status", "opened_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    rule: Mapped[str] = mapped_column(String(60))
    subject_id: Mapped[str] = mapped_column(String(32))
    left_record_type: Mapped[str] = mapped_column(String(100))
    left_system: Mapped[str] = mapped_column(String(40))
    left_reference: Mapped[str | None] = mapped_column(String(300))
    right_record_type: Mapped[str] = mapped_column(String(100))
    right_system: Mapped[str] = mapped_column(String(40))
    right_reference: Mapped[str | None] = mapped_column(String(300))
    fields: Mapped[list[Any]]
    status: Mapped[str] = mapped_column(String(10))
    changes: Mapped[int] = mapped_column(Integer, default=0)  # how often it was updated
    opened_at: Mapped[datetime] = mapped_column(UtcTimestamp())
    updated_at: Mapped[datetime] = mapped_column(UtcTimestamp())
    closed_at: Mapped[datetime | None] = mapped_column(UtcTimestamp())
