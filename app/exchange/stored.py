"""State data the hub holds itself: the approved result of an earlier filing.

A filing's pull (one made under a procedure grant) asks such a source before the record's
connector; what it finds stands in for the source system, and :func:`pull_record` still
decides the basis and writes the event. The data path defines the shape, the filings domain
provides the records (``app.filings.results``), so neither imports the other's tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """One record the hub produced: the approval of ``filing_id`` under ``procedure``."""

    filing_id: str
    procedure: str
    record: dict[str, Any]
    dictionary_version: str
    created_at: datetime


class StoredRecords(Protocol):
    async def find(self, record_type: str, subject_id: str) -> StoredRecord | None:
        """The newest stored ``record_type`` about ``subject_id``, if the hub holds one."""
        ...
