"""Declare-once metrics: aggregated over submitted filings, and counted for Prometheus."""

from __future__ import annotations

from fastapi import APIRouter

from app.deps import SessionDep
from app.filings import service
from app.filings.models import Filing
from app.filings.schemas import DeclareOnceStats
from app.observability import HubMetrics
from app.routing import HubRoute
from app.security.deps import AuditorClient
from dictionary.procedures import Procedure

router = APIRouter(prefix="/v1/stats", tags=["statistics"], route_class=HubRoute)


def count_submission(metrics: HubMetrics, procedure: Procedure, filing: Filing) -> None:
    """Add a just-submitted filing's counts to /metrics."""
    fields = metrics.declare_once_fields
    components = metrics.declare_once_components
    fields.labels(procedure.code, "state").inc(filing.fields_prefilled)
    fields.labels(procedure.code, "applicant").inc(filing.fields_typed)
    components.labels(procedure.code, "state").inc(filing.components_from_state)
    components.labels(procedure.code, "applicant").inc(filing.components_supplied)


@router.get(
    "/declare-once",
    summary="Declare-once rate by procedure and agency",
)
async def declare_once(auditor: AuditorClient, session: SessionDep) -> DeclareOnceStats:
    """Over every submitted filing: fields pre-filled from state data against fields typed
    by the applicant, and components satisfied from state data against components the
    applicant supplied; in total, by procedure and by the agency that handled the filing.
    `declare_once_rate` is pre-filled fields over all fields filled."""
    return DeclareOnceStats.model_validate(await service.declare_once_stats(session))
