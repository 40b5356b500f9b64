"""Reading filings, their corrections and results; the procedure and grant look-ups."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.filings.errors import FilingNotFound, ProcedureNotFound, ProcedureNotGranted
from app.filings.models import CorrectionRequest, Filing, FilingResult
from app.security import service as security_service
from dictionary import Dictionary
from dictionary.procedures import Procedure, UnknownProcedure


def procedure_of(dictionary: Dictionary, code: str) -> Procedure:
    try:
        return dictionary.procedure(code)
    except UnknownProcedure:
        raise ProcedureNotFound(f"The catalogue has no procedure {code!r}.") from None


async def require_procedure_grant(session: AsyncSession, client_id: str, procedure: str) -> None:
    """Refuse a client whose agency is not granted ``procedure``, read afresh every time."""
    if not await security_service.is_procedure_granted(session, client_id, procedure):
        raise ProcedureNotGranted(
            f"This client is not granted procedure {procedure!r}; an admin grants it at "
            "PUT /v1/clients/{id}/procedure-grants.",
            extra={"procedure": procedure},
        )


async def get_filing(session: AsyncSession, filing_id: str, client_id: str) -> Filing:
    """The filing, if ``client_id`` opened it and is still granted its procedure.

    Another client gets the same 404 as a stranger; the client that opened it gets
    ``procedure_not_granted`` once its grant is removed.
    """
    filing = await session.get(Filing, filing_id, populate_existing=True)
    if filing is None or filing.client_id != client_id:
        raise FilingNotFound(f"No filing {filing_id!r}.")
    await require_procedure_grant(session, client_id, filing.procedure)
    return filing


@dataclass(frozen=True, slots=True)
class LoadedFiling:
    """A filing with its procedure, resolved once for the request."""

    filing: Filing
    procedure: Procedure


async def load_filing(
    session: AsyncSession, dictionary: Dictionary, filing_id: str, client_id: str
) -> LoadedFiling:
    """:func:`get_filing` (404 for another client's, 403 once the grant is removed) and the
    filing's procedure."""
    filing = await get_filing(session, filing_id, client_id)
    return LoadedFiling(filing, procedure_of(dictionary, filing.procedure))


async def filings_of_citizen(session: AsyncSession, citizen_id: str) -> list[Filing]:
    rows = await session.scalars(
        select(Filing)
        .where((Filing.applicant_id == citizen_id) | (Filing.on_behalf_of == citizen_id))
        .order_by(Filing.created_at.desc(), Filing.id)
    )
    return list(rows.all())


async def corrections_of_filing(session: AsyncSession, filing_id: str) -> list[CorrectionRequest]:
    rows = await session.scalars(
        select(CorrectionRequest)
        .where(CorrectionRequest.filing_id == filing_id)
        .order_by(CorrectionRequest.created_at, CorrectionRequest.id)
    )
    return list(rows.all())


async def corrections_of_citizen(session: AsyncSession, citizen_id: str) -> list[CorrectionRequest]:
    rows = await session.scalars(
        select(CorrectionRequest)
        .where(CorrectionRequest.applicant_id == citizen_id)
        .order_by(CorrectionRequest.created_at.desc(), CorrectionRequest.id)
    )
    return list(rows.all())


async def result_of_filing(session: AsyncSession, filing_id: str) -> FilingResult | None:
    row = await session.scalars(select(FilingResult).where(FilingResult.filing_id == filing_id))
    return row.first()


async def find_result(
    session: AsyncSession, record_type: str, subject_id: str
) -> FilingResult | None:
    """The newest approved result of an earlier filing, ``record_type`` about ``subject_id``,
    while the owning system has not confirmed it: once it has, the owner is the source."""
    rows = await session.scalars(
        select(FilingResult)
        .where(FilingResult.record_type == record_type, FilingResult.subject_id == subject_id)
        .order_by(FilingResult.created_at.desc())
        .limit(1)
    )
    newest = rows.first()
    return newest if newest is not None and newest.confirmed_at is None else None
