"""The procedure catalogue over HTTP (public): what each procedure needs, and from whom."""

from __future__ import annotations

from fastapi import APIRouter

from app.deps import DictionaryDep
from app.errors import problem_responses
from app.filings.schemas import ProcedureDetail, ProcedureSummary
from app.filings.service import procedure_of
from app.routing import HubRoute
from app.security.deps import PUBLIC
from dictionary.procedures import Procedure

router = APIRouter(prefix="/v1/procedures", tags=["procedures"], route_class=HubRoute)


def _summary(procedure: Procedure) -> ProcedureSummary:
    return ProcedureSummary(
        code=procedure.code,
        name_vi=procedure.name_vi,
        name_en=procedure.name_en,
        level=procedure.level,
        authority_vi=procedure.authority_vi,
        authority_en=procedure.authority_en,
        result_record_type=procedure.result.record_type,
        components=len(procedure.components),
        state_components=len(procedure.state_components),
    )


@router.get("", summary="List procedures", dependencies=[PUBLIC])
async def list_procedures(dictionary: DictionaryDep) -> list[ProcedureSummary]:
    """Every procedure of the catalogue, with its competent level and authority."""
    return [_summary(dictionary.procedures[code]) for code in sorted(dictionary.procedures)]


@router.get(
    "/{code}",
    summary="Get a procedure",
    dependencies=[PUBLIC],
    responses=problem_responses(404),
)
async def get_procedure(code: str, dictionary: DictionaryDep) -> ProcedureDetail:
    """One procedure: its legal basis, its dossier components (state-held, with the record
    type, owning system, the fields needed and the basis; or applicant-supplied, with the
    dictionary elements), its result record and its dossier's JSON Schema 2020-12.
    `unknown_procedure` (404)."""
    procedure = procedure_of(dictionary, code)
    return ProcedureDetail(
        **dict(procedure), dossier_schema=dictionary.dossier_validator(code).json_schema
    )
