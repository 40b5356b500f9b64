"""What the API changed in the dictionary, on top of the shipped national content: published
versions, lifecycle steps and compatibility modes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base
from app.timestamps import UtcTimestamp


class PublishedRecordVersion(Base):
    __tablename__ = "dictionary_record_versions"
    __table_args__ = (UniqueConstraint("record_type", "version"),)

    id: Mapped[str] = mapped_column(String(80), primary_key=True, doc="content-addressed id")
    record_type: Mapped[str] = mapped_column(String(100), index=True)
    version: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20))
    content: Mapped[dict[str, Any]]
    published_at: Mapped[datetime] = mapped_column(UtcTimestamp())
    published_by: Mapped[str] = mapped_column(String(36))


class RecordVersionStatusChange(Base):
    """One lifecycle step of a record version (shipped or published through the API).

    Rows are only added; an instance replays them in status order on start and before every
    dictionary change, so two instances agree on each version's status.
    """

    __tablename__ = "dictionary_status_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    record_type: Mapped[str] = mapped_column(String(100), index=True)
    version: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20))
    changed_at: Mapped[datetime] = mapped_column(UtcTimestamp())
    changed_by: Mapped[str] = mapped_column(String(36))


class CompatibilityModeChange(Base):
    """A record type's compatibility mode set through the API; the newest row wins over YAML."""

    __tablename__ = "dictionary_compatibility_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    record_type: Mapped[str] = mapped_column(String(100), index=True)
    mode: Mapped[str] = mapped_column(String(30))
    changed_at: Mapped[datetime] = mapped_column(UtcTimestamp())
    changed_by: Mapped[str] = mapped_column(String(36))
