"""Declare-once statistics over HTTP: aggregated over submitted filings (auditor). The
Prometheus counters are counted by the submit service (``counts.count_submission``)."""

from __future__ import annotations

from fastapi import APIRouter

from app.deps import SessionDep
from app.filings import service
from app.filings.schemas import DeclareOnceStats
from app.routing import HubRoute
from app.security.deps import AuditorClient

router = APIRouter(prefix="/v1/stats", tags=["statistics"], route_class=HubRoute)


@router.get(
    "/declare-once",
    summary="Declare-once rate by procedure and agency",
)
async def declare_once(auditor: AuditorClient, session: SessionDep) -> DeclareOnceStats:
    """Over every submitted filing: fields pre-filled from state data against fields typed
    by the applicant, and components satisfied from state data against components the
    applicant supplied; in total, by procedure and by the agency that handled the filing.
    `declare_once_rate` is pre-filled fields over all fields filled."""
    return await service.declare_once_stats(session)
