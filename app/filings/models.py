"""Tables of the filings domain: filings, the result records they produce, corrections."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base
from app.timestamps import UtcTimestamp


class Filing(Base):
    """One procedure being filed: its dossier, where each value came from, its status.

    ``dossier`` is ``{component: {field: value}}``; ``provenance`` is keyed by the JSON
    Pointer of a field (``/component/field``) and exists only for values from state data.
    """

    __tablename__ = "filings"
    __table_args__ = (
        Index("ix_filings_client_id_created_at", "client_id", "created_at"),
        Index("ix_filings_applicant_id", "applicant_id"),
        Index("ix_filings_on_behalf_of", "on_behalf_of"),
        Index("ix_filings_procedure_status", "procedure", "status"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    procedure: Mapped[str] = mapped_column(String(100))
    client_id: Mapped[str] = mapped_column(String(36))
    agency: Mapped[str] = mapped_column(String(300))
    officer_id: Mapped[str] = mapped_column(String(200))
    case_id: Mapped[str | None] = mapped_column(String(200))
    applicant_id: Mapped[str] = mapped_column(String(32))
    on_behalf_of: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(20))
    dossier: Mapped[dict[str, Any]]
    provenance: Mapped[dict[str, Any]]
    component_states: Mapped[dict[str, Any]]
    typed_fields: Mapped[list[Any]]
    fields_prefilled: Mapped[int] = mapped_column(Integer, default=0)
    fields_typed: Mapped[int] = mapped_column(Integer, default=0)
    components_from_state: Mapped[int] = mapped_column(Integer, default=0)
    components_supplied: Mapped[int] = mapped_column(Integer, default=0)
    submit_key: Mapped[str | None] = mapped_column(String(200))
    submit_hash: Mapped[str | None] = mapped_column(String(64))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcTimestamp())
    updated_at: Mapped[datetime] = mapped_column(UtcTimestamp())
    submitted_at: Mapped[datetime | None] = mapped_column(UtcTimestamp())
    decided_at: Mapped[datetime | None] = mapped_column(UtcTimestamp())

    @property
    def subject_id(self) -> str:
        """The person the filing is about: on whose behalf it is made, else the applicant."""
        return self.on_behalf_of or self.applicant_id


class FilingResult(Base):
    """The record an approved filing produced; later filings reuse it as state data."""

    __tablename__ = "filing_results"
    __table_args__ = (
        Index("ix_filing_results_record_type_subject_id", "record_type", "subject_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    filing_id: Mapped[str] = mapped_column(ForeignKey("filings.id"), unique=True)
    procedure: Mapped[str] = mapped_column(String(100))
    record_type: Mapped[str] = mapped_column(String(100))
    record_version: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[str] = mapped_column(String(32))
    record: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(UtcTimestamp())
    # When the system that owns the record type confirmed it: from then on that system, not
    # the hub, is the source of this record.
    confirmed_at: Mapped[datetime | None] = mapped_column(UtcTimestamp())


class CorrectionRequest(Base):
    """An applicant's dispute of a state-held value, addressed to the owning agency."""

    __tablename__ = "filing_corrections"
    __table_args__ = (Index("ix_filing_corrections_applicant_id", "applicant_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    filing_id: Mapped[str] = mapped_column(ForeignKey("filings.id"), index=True)
    client_id: Mapped[str] = mapped_column(String(36))
    applicant_id: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[str | None] = mapped_column(String(32))
    field: Mapped[str] = mapped_column(String(200))
    record_type: Mapped[str] = mapped_column(String(100))
    owner_system: Mapped[str] = mapped_column(String(40))
    owner_agency: Mapped[str] = mapped_column(String(300))
    source_reference: Mapped[str | None] = mapped_column(String(300))
    values: Mapped[dict[str, Any]]
    note: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))
    # The owner's answer to a forwarded correction: {decision, value?, reason?, answered_at}.
    answer: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = mapped_column(UtcTimestamp())
    updated_at: Mapped[datetime] = mapped_column(UtcTimestamp())
