"""Record versions published through the API, on top of the shipped national content."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base


class PublishedRecordVersion(Base):
    __tablename__ = "dictionary_record_versions"
    __table_args__ = (UniqueConstraint("record_type", "version"),)

    id: Mapped[str] = mapped_column(String(80), primary_key=True, doc="content-addressed id")
    record_type: Mapped[str] = mapped_column(String(100), index=True)
    version: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20))
    content: Mapped[dict[str, Any]]
    published_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    published_by: Mapped[str] = mapped_column(String(36))
