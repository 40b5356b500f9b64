"""Tables of the sources domain: connector registrations, their mapping versions, and the
data-quality figures measured on each connector."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base
from app.timestamps import UtcTimestamp


class ConnectorRegistration(Base):
    """A registered source connector. ``auth_secret`` is the Fernet-encrypted secret part of
    the credentials; the rest of ``auth_settings`` is not secret. ``revision`` grows on every
    change so other hub instances notice it with one cheap query."""

    __tablename__ = "connectors"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    system: Mapped[str] = mapped_column(String(40))
    base_url: Mapped[str] = mapped_column(String(500))
    auth_kind: Mapped[str] = mapped_column(String(20))
    auth_settings: Mapped[dict[str, Any]]
    auth_secret: Mapped[str | None] = mapped_column(Text, default=None)
    record_types: Mapped[list[Any]]
    active_mappings: Mapped[dict[str, Any]]
    policy: Mapped[dict[str, Any]]
    enabled: Mapped[bool] = mapped_column(Boolean)
    probe: Mapped[dict[str, Any]]
    revision: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcTimestamp())
    updated_at: Mapped[datetime] = mapped_column(UtcTimestamp())
    created_by: Mapped[str] = mapped_column(String(36))
    updated_by: Mapped[str] = mapped_column(String(36))


class ConnectorMapping(Base):
    """One version of the mapping a connector uses for one record type. Versions are kept."""

    __tablename__ = "connector_mappings"
    __table_args__ = (UniqueConstraint("connector_id", "record_type", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    connector_id: Mapped[str] = mapped_column(
        ForeignKey("connectors.id", ondelete="CASCADE"), index=True
    )
    record_type: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer)
    spec: Mapped[dict[str, Any]]
    shipped: Mapped[str | None] = mapped_column(String(100), default=None)
    created_at: Mapped[datetime] = mapped_column(UtcTimestamp())
    created_by: Mapped[str] = mapped_column(String(36))


class QualityWindow(Base):
    """Data-quality counters over one window: live traffic flushed by an instance (``kind``
    live), or one sample scan (``kind`` scan). Rows are only appended, so any number of
    instances add their figures without read-modify-write; the scores sum the rows."""

    __tablename__ = "connector_quality"
    __table_args__ = (Index("ix_connector_quality_connector_id_kind", "connector_id", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    connector_id: Mapped[str] = mapped_column(ForeignKey("connectors.id", ondelete="CASCADE"))
    record_type: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(10))
    started_at: Mapped[datetime] = mapped_column(UtcTimestamp())
    ended_at: Mapped[datetime] = mapped_column(UtcTimestamp())
    fetched: Mapped[int] = mapped_column(Integer)
    valid: Mapped[int] = mapped_column(Integer)
    required_present: Mapped[int] = mapped_column(Integer)
    required_expected: Mapped[int] = mapped_column(Integer)
    optional_present: Mapped[int] = mapped_column(Integer)
    optional_expected: Mapped[int] = mapped_column(Integer)
    dated: Mapped[int] = mapped_column(Integer)
    stale: Mapped[int] = mapped_column(Integer)
    age_histogram: Mapped[list[Any]]
    conflicts_checked: Mapped[int] = mapped_column(Integer)
    conflicts: Mapped[int] = mapped_column(Integer)
    conflict_examples: Mapped[list[Any]]
    details: Mapped[dict[str, Any]]
