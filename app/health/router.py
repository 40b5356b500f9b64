"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from starlette.responses import Response

from app.deps import SessionDep
from app.health.schemas import Liveness, Readiness
from app.hub import HubDep
from app.responses import FastJSONResponse
from app.routing import HubRoute
from app.security.deps import PUBLIC

router = APIRouter(tags=["health"], dependencies=[PUBLIC], route_class=HubRoute)


@router.get("/healthz", summary="Liveness")
async def healthz() -> Liveness:
    """The process is up and serving. It checks nothing else."""
    return Liveness()


@router.get(
    "/readyz",
    summary="Readiness",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "Not ready"}},
)
async def readyz(hub: HubDep, session: SessionDep) -> Response:
    """Ready when the database answers and the national dictionary is loaded."""
    checks: dict[str, str] = {}
    try:
        await session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # any driver failure means not ready
        checks["database"] = f"error: {type(exc).__name__}"
    dictionary = hub.dictionary
    if dictionary.record_types:
        checks["dictionary"] = f"ok ({len(dictionary.record_types)} record types)"
    else:
        checks["dictionary"] = "not loaded"
    ready = all(str(v).startswith("ok") for v in checks.values())
    answer = Readiness(status="ready" if ready else "not_ready", checks=checks)
    return FastJSONResponse(answer.model_dump(), status_code=200 if ready else 503)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={
        200: {
            "description": "The Prometheus text exposition format.",
            "content": {CONTENT_TYPE_LATEST.split(";")[0]: {"schema": {"type": "string"}}},
        }
    },
)
async def metrics(hub: HubDep) -> Response:
    """Request counts and latency histograms by route template and status."""
    return Response(generate_latest(hub.metrics.registry), media_type=CONTENT_TYPE_LATEST)
