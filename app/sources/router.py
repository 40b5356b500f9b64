"""The connectors API (role integrator): register, list, change, delete, health, quality."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from app.deps import SessionDep
from app.errors import problem_responses
from app.hub import HubDep
from app.routing import HubRoute
from app.security.actor import IntegratorActor
from app.security.deps import IntegratorClient
from app.sources import service
from app.sources.models import ConnectorMapping, ConnectorRegistration
from app.sources.schemas import (
    AuthOut,
    ConnectorCreate,
    ConnectorOut,
    ConnectorPatch,
    HealthOut,
    MappingVersionOut,
    ProbeReport,
    QualityReport,
    RecordTypeOut,
    ScanRequest,
)

router = APIRouter(prefix="/v1/connectors", tags=["connectors"], route_class=HubRoute)


def connector_out(
    row: ConnectorRegistration, mappings: list[ConnectorMapping], *, specs: bool = False
) -> ConnectorOut:
    by_type: dict[str, list[ConnectorMapping]] = {}
    for mapping in mappings:
        if mapping.connector_id == row.id:
            by_type.setdefault(mapping.record_type, []).append(mapping)
    record_types = []
    for record_type, versions in sorted(by_type.items()):
        active = int(row.active_mappings.get(record_type, 0))
        record_types.append(
            RecordTypeOut(
                record_type=record_type,
                active_version=active,
                versions=[
                    MappingVersionOut(
                        version=m.version,
                        shipped=m.shipped,
                        created_at=m.created_at,
                        created_by=m.created_by,
                        active=m.version == active,
                        spec=m.spec if specs else None,
                    )
                    for m in sorted(versions, key=lambda m: m.version)
                ],
            )
        )
    settings = row.auth_settings
    return ConnectorOut(
        id=row.id,
        name=row.name,
        system=row.system,
        base_url=row.base_url,
        auth=AuthOut(
            kind=row.auth_kind,
            header=settings.get("header"),
            token_url=settings.get("token_url"),
            client_id=settings.get("client_id"),
            scope=settings.get("scope"),
            secret_stored=row.auth_secret is not None,
        ),
        record_types=record_types,
        timeouts=row.policy.get("timeouts", {}),
        retries=row.policy.get("retries", {}),
        breaker=row.policy.get("breaker", {}),
        max_concurrency=int(row.policy.get("max_concurrency", 0)),
        enabled=row.enabled,
        probe=ProbeReport.model_validate(row.probe) if row.probe else None,
        revision=row.revision,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


@router.post(
    "",
    summary="Register a connector",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(400, 401, 403, 409, 422),
)
async def register_connector(
    body: ConnectorCreate, hub: HubDep, integrator: IntegratorActor
) -> ConnectorOut:
    """Validate the mappings against the dictionary (422 listing every problem), probe the
    source (reachability, auth, one sample fetch validated end to end) and store the
    connector. A failed probe still registers it, disabled, with the report. Secrets are
    stored encrypted and never returned."""
    row, mappings = await service.register(hub, integrator.client.client_id, body, integrator)
    return connector_out(row, mappings)


@router.get("", summary="List connectors", responses=problem_responses(401, 403))
async def list_connectors(integrator: IntegratorClient, session: SessionDep) -> list[ConnectorOut]:
    """Every connector with its record types, mapping versions, settings and last probe."""
    rows = await service.list_registrations(session)
    mappings = await service.mappings_of(session, [r.id for r in rows])
    return [connector_out(r, mappings) for r in rows]


@router.get(
    "/{connector_id}", summary="Get a connector", responses=problem_responses(401, 403, 404)
)
async def get_connector(
    connector_id: str, integrator: IntegratorClient, session: SessionDep
) -> ConnectorOut:
    """One connector by id or name, with every mapping version and its spec."""
    row = await service.get_registration(session, connector_id)
    return connector_out(row, await service.mappings_of(session, [row.id]), specs=True)


@router.patch(
    "/{connector_id}",
    summary="Change a connector",
    responses=problem_responses(400, 401, 403, 404, 422),
)
async def patch_connector(
    connector_id: str, body: ConnectorPatch, hub: HubDep, integrator: IntegratorActor
) -> ConnectorOut:
    """Enable or disable, add a mapping version (older versions are kept and can be
    activated again), or change the URL, credentials or resilience settings."""
    row, mappings, _changed = await service.update(
        hub, integrator.client.client_id, connector_id, body, integrator
    )
    return connector_out(row, mappings, specs=True)


@router.delete(
    "/{connector_id}",
    summary="Delete a connector",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(400, 401, 403, 404),
)
async def delete_connector(
    connector_id: str, hub: HubDep, integrator: IntegratorActor, session: SessionDep
) -> Response:
    """Remove the connector, its mapping versions and its quality figures."""
    await service.remove(session, hub.connectors, hub.audit, integrator, connector_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/{connector_id}/health",
    summary="Live statistics of a connector",
    responses=problem_responses(401, 403, 404),
)
async def connector_health(
    connector_id: str, hub: HubDep, integrator: IntegratorClient, session: SessionDep
) -> HealthOut:
    """Requests and errors by kind, p50/p95/p99 latency, last success and failure, and the
    circuit breaker's state, as this hub instance has seen them."""
    row = await service.get_registration(session, connector_id)
    await hub.connectors.refresh_if_stale()
    live = hub.connectors.get(row.id)
    return HealthOut(
        connector_id=row.id,
        name=row.name,
        system=row.system,
        enabled=row.enabled,
        revision=row.revision,
        stats=live.stats() if live is not None else {},
    )


@router.get(
    "/{connector_id}/quality",
    summary="Data-quality scores of a connector",
    responses=problem_responses(401, 403, 404),
)
async def connector_quality(
    connector_id: str, hub: HubDep, integrator: IntegratorClient, session: SessionDep
) -> QualityReport:
    """Per record type, from live traffic and from the last sample scan: correct (share of
    records that validate), sufficient (completeness of required and optional fields), live
    (p50/p90 age of last_updated in days, share older than a year) and clean (conflicts with
    civil status, with examples by record reference, never personal data)."""
    return QualityReport.model_validate(
        await service.quality(session, hub.connectors, connector_id)
    )


@router.post(
    "/{connector_id}/quality/scan",
    summary="Run a sample quality scan",
    responses=problem_responses(401, 403, 404, 409, 422, 502, 504),
)
async def scan_connector(
    connector_id: str,
    body: ScanRequest,
    hub: HubDep,
    integrator: IntegratorClient,
) -> QualityReport:
    """Fetch a sample of the source's subjects, score it, and (for population) compare each
    Person with civil status's BirthRegistration. Answers the updated quality scores."""
    report = await service.scan(
        hub.sessionmaker,
        hub.connectors,
        connector_id,
        sample=body.sample,
        record_type=body.record_type,
        conflicts_with=body.conflicts_with,
        concurrency=body.concurrency,
    )
    return QualityReport.model_validate(report)
