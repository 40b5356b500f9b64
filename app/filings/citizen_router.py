"""A citizen's own filings and correction requests (eID token)."""

from __future__ import annotations

from fastapi import APIRouter

from app.deps import DictionaryDep, SessionDep
from app.filings import service
from app.filings.schemas import CorrectionOut, FilingSummary
from app.filings.views import corrections_out, summary_out
from app.routing import HubRoute
from app.security.deps import CitizenDep

router = APIRouter(prefix="/v1/me", tags=["citizen"], route_class=HubRoute)


@router.get("/filings", summary="My filings")
async def my_filings(
    citizen: CitizenDep, session: SessionDep, dictionary: DictionaryDep
) -> list[FilingSummary]:
    """Filings where the citizen is the applicant or the person the filing is for, newest
    first, with their status and declare-once counts (no dossier values)."""
    filings = await service.filings_of_citizen(session, citizen.citizen_id)
    return [summary_out(service.procedure_of(dictionary, f.procedure), f) for f in filings]


@router.get("/corrections", summary="My correction requests")
async def my_corrections(citizen: CitizenDep, session: SessionDep) -> list[CorrectionOut]:
    """The correction requests filed in the citizen's filings, with their status."""
    corrections = await service.corrections_of_citizen(session, citizen.citizen_id)
    return await corrections_out(session, corrections)
