"""Earlier filings' approved results, as a source the data path consults before a
connector (:class:`app.exchange.stored.StoredRecords`)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.exchange.stored import StoredRecord
from app.filings.reading import find_result


@dataclass(frozen=True, slots=True)
class FilingResults:
    """Each look-up is one short read of its own: no session is held across the pull."""

    sessionmaker: async_sessionmaker[AsyncSession]

    async def find(self, record_type: str, subject_id: str) -> StoredRecord | None:
        async with self.sessionmaker() as session:
            result = await find_result(session, record_type, subject_id)
        if result is None:
            return None
        return StoredRecord(
            filing_id=result.filing_id,
            procedure=result.procedure,
            record=result.record,
            dictionary_version=result.record_version,
            created_at=result.created_at,
        )
