"""Connector registrations: register (with a probe), change, delete. No HTTP in here.

Registering and changing (with a probe) wait on the source: they take the hub's sessionmaker
and hold no session while the probe runs; each writes in one named phase, whose audit event
is appended before its rows are written (on SQLite the writing transaction is the one
writer, and the access log could not append after it). Deleting is done in the request's
session, which commits it.

The mappings are in :mod:`app.sources.mappings`, the stored reads in :mod:`app.sources.lookup`,
the probe in :mod:`app.sources.probing`, the quality report and sample scan in
:mod:`app.sources.scanning`; the names callers import from here are re-exported."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.events import AuditSink, EventKind
from app.hub import Hub
from app.security.actor import Actor, record
from app.sources.errors import ConnectorExists, InvalidMapping
from app.sources.lookup import get_registration, list_registrations, mappings_of
from app.sources.mappings import check_mappings, shipped_mappings
from app.sources.models import ConnectorMapping, ConnectorRegistration, QualityWindow
from app.sources.probing import PROBE_SUBJECTS, probe
from app.sources.runtime import ConnectorRegistry
from app.sources.scanning import quality, scan
from app.sources.schemas import (
    ApiKeyAuthIn,
    AuthIn,
    ConnectorCreate,
    ConnectorPatch,
    OAuth2AuthIn,
)
from app.timestamps import utcnow
from connectors.systems import adapter

__all__ = [
    "PROBE_SUBJECTS",
    "check_mappings",
    "event_details",
    "get_registration",
    "list_registrations",
    "mappings_of",
    "probe",
    "quality",
    "register",
    "remove",
    "scan",
    "shipped_mappings",
    "update",
    "utcnow",
]


def _auth_parts(auth: AuthIn | None) -> tuple[str, dict[str, Any], dict[str, str]]:
    """(kind, the settings that are not secret, the secrets to encrypt)."""
    if isinstance(auth, ApiKeyAuthIn):
        public = auth.model_dump(mode="json", exclude={"key"})
        return "api_key", public, {"key": auth.key.get_secret_value()}
    if isinstance(auth, OAuth2AuthIn):
        public = auth.model_dump(mode="json", exclude={"client_secret"})
        return "oauth2", public, {"client_secret": auth.client_secret.get_secret_value()}
    return "none", {}, {}


def _policy(body: ConnectorCreate | ConnectorPatch, current: dict[str, Any]) -> dict[str, Any]:
    policy = dict(current)
    for key in ("timeouts", "retries", "breaker"):
        value = getattr(body, key)
        if value is not None:
            policy[key] = value.model_dump()
    if body.max_concurrency is not None:
        policy["max_concurrency"] = body.max_concurrency
    return policy


def event_details(row: ConnectorRegistration, **more: Any) -> dict[str, Any]:
    """What an administrative event says of a connector: names and settings, never secrets."""
    return {
        "connector": row.id,
        "name": row.name,
        "system": row.system,
        "base_url": row.base_url,
        "auth_kind": row.auth_kind,
        "record_types": list(row.record_types),
        "mapping_versions": dict(row.active_mappings),
        "enabled": row.enabled,
        "revision": row.revision,
        **more,
    }


async def register(
    hub: Hub, principal_id: str, body: ConnectorCreate, actor: Actor | None = None
) -> tuple[ConnectorRegistration, list[ConnectorMapping]]:
    """Validate, probe and store a connector. A failed probe stores it disabled. The event
    ``connector_registered`` is recorded for ``actor`` (none for the demo's own set-up)."""
    registry = hub.connectors
    name = body.name or body.system.replace("_", "-")
    entries = body.record_types
    if entries is None:
        entries = list(adapter(body.system).record_types)
    resolved = check_mappings(registry.dictionary, body.system, entries)
    async with hub.sessionmaker.begin() as session:  # is the name free?
        existing = await session.scalar(
            select(ConnectorRegistration.id).where(ConnectorRegistration.name == name)
        )
    if existing is not None:
        raise ConnectorExists(f"A connector named {name!r} exists.")
    kind, auth_settings, secrets = _auth_parts(body.auth)
    now = utcnow()
    registration = ConnectorRegistration(
        id=str(uuid.uuid4()),
        name=name,
        system=body.system,
        base_url=str(body.base_url).rstrip("/"),
        auth_kind=kind,
        auth_settings=auth_settings,
        auth_secret=registry.box.seal(secrets),
        record_types=[rt for rt, _spec, _shipped in resolved],
        active_mappings={rt: 1 for rt, _spec, _shipped in resolved},
        policy=_policy(body, {}),
        enabled=False,
        probe={},
        revision=1,
        created_at=now,
        updated_at=now,
        created_by=principal_id,
        updated_by=principal_id,
    )
    mappings = [
        ConnectorMapping(
            connector_id=registration.id,
            record_type=rt,
            version=1,
            spec=spec,
            shipped=shipped,
            created_at=now,
            created_by=principal_id,
        )
        for rt, spec, shipped in resolved
    ]
    live = registry.build(registration, mappings)
    try:
        report = await probe(live, body.probe_subject)  # no session is open meanwhile
        registration.probe = report
        registration.enabled = body.enabled and bool(report["ok"])
        live.enabled = registration.enabled
        async with hub.sessionmaker.begin() as session:  # store it
            if actor is not None:
                details = event_details(registration, probe_ok=bool(report["ok"]))
                await record(hub.audit, actor, EventKind.CONNECTOR_REGISTERED, details=details)
            session.add(registration)
            await session.flush()
            session.add_all(mappings)
    except IntegrityError:
        await live.aclose()
        raise ConnectorExists(f"A connector named {name!r} exists.") from None
    except BaseException:
        await live.aclose()
        raise
    await registry.install(live)
    return registration, mappings


async def update(
    hub: Hub,
    principal_id: str,
    connector_id: str,
    body: ConnectorPatch,
    actor: Actor | None = None,
) -> tuple[ConnectorRegistration, list[ConnectorMapping], list[str]]:
    """Apply a change; every change bumps ``revision``. Returns the changed keys too. The
    event ``connector_changed`` is recorded for ``actor`` (none for the demo's own set-up)."""
    async with hub.sessionmaker.begin() as session:  # read the connector
        row = await get_registration(session, connector_id)
        existing = await mappings_of(session, [row.id])
    now = utcnow()
    new_rows, changed = _apply_patch(hub.connectors, row, existing, body, principal_id, now)
    all_mappings = [*existing, *new_rows]
    live = hub.connectors.build(row, all_mappings)
    try:
        if body.reprobe:
            row.probe = await probe(live, None)  # no session is open meanwhile
            changed.append("probe")
        live.enabled = row.enabled
        row.revision += 1
        row.updated_at = now
        row.updated_by = principal_id
        live.revision = row.revision
        async with hub.sessionmaker.begin() as session:  # store the change
            if actor is not None:
                details = event_details(row, changed=changed)
                await record(hub.audit, actor, EventKind.CONNECTOR_CHANGED, details=details)
            await session.merge(row)
            session.add_all(new_rows)
    except BaseException:
        await live.aclose()
        raise
    await hub.connectors.install(live)
    return row, all_mappings, changed


def _apply_patch(
    registry: ConnectorRegistry,
    row: ConnectorRegistration,
    existing: list[ConnectorMapping],
    body: ConnectorPatch,
    principal_id: str,
    now: datetime,
) -> tuple[list[ConnectorMapping], list[str]]:
    """Change ``row`` as ``body`` says; (the new mapping versions, the changed keys)."""
    changed: list[str] = []
    new_rows: list[ConnectorMapping] = []
    active = dict(row.active_mappings)
    if body.mappings:
        resolved = check_mappings(registry.dictionary, row.system, body.mappings, "mappings")
        for rt, spec, shipped in resolved:
            version = 1 + max((m.version for m in existing if m.record_type == rt), default=0)
            new_rows.append(
                ConnectorMapping(
                    connector_id=row.id,
                    record_type=rt,
                    version=version,
                    spec=spec,
                    shipped=shipped,
                    created_at=now,
                    created_by=principal_id,
                )
            )
            active[rt] = version
        changed.append("mappings")
    if body.activate:
        problems = []
        for rt, version in body.activate.items():
            if not any(m.record_type == rt and m.version == version for m in existing):
                problems.append(
                    {
                        "path": f"/activate/{rt}",
                        "code": "unknown_mapping_version",
                        "message": f"{row.name} has no mapping version {version} for {rt}.",
                    }
                )
            active[rt] = version
        if problems:
            raise InvalidMapping("Unknown mapping versions.", errors=problems)
        changed.append("activate")
    if body.base_url is not None:
        row.base_url = str(body.base_url).rstrip("/")
        changed.append("base_url")
    if body.auth is not None:
        kind, auth_settings, secrets = _auth_parts(body.auth)
        row.auth_kind, row.auth_settings = kind, auth_settings
        row.auth_secret = registry.box.seal(secrets)
        changed.append("auth")
    policy = _policy(body, row.policy)
    if policy != row.policy:
        row.policy = policy
        changed.append("policy")
    row.active_mappings = active
    row.record_types = sorted(active)
    if body.enabled is not None and body.enabled != row.enabled:
        row.enabled = body.enabled
        changed.append("enabled")
    return new_rows, changed


async def remove(
    session: AsyncSession,
    registry: ConnectorRegistry,
    audit: AuditSink,
    actor: Actor,
    connector_id: str,
) -> str:
    """Delete the connector, its mapping versions and its quality figures, in ``session``;
    the event ``connector_deleted`` is appended first."""
    row = await get_registration(session, connector_id)
    identifier = row.id
    await record(audit, actor, EventKind.CONNECTOR_DELETED, details=event_details(row))
    await session.execute(delete(QualityWindow).where(QualityWindow.connector_id == identifier))
    await session.execute(
        delete(ConnectorMapping).where(ConnectorMapping.connector_id == identifier)
    )
    await session.delete(row)
    await session.flush()
    await registry.remove(identifier)
    return identifier
