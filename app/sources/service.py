"""Connector registrations: register (with a probe), list, change, delete; the mapping
versions; health; data-quality scores and the sample scan. No HTTP in here."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.service import mask_citizen_id
from app.errors import Conflict, NotFound
from app.sources.errors import InvalidMapping
from app.sources.models import ConnectorMapping, ConnectorRegistration, QualityWindow
from app.sources.quality import QualityCounters, person_birth_conflict
from app.sources.runtime import (
    ConnectorRegistry,
    LiveConnector,
    counters_of,
    hub_error,
    window_row,
)
from app.sources.schemas import (
    ApiKeyAuthIn,
    AuthIn,
    ConnectorCreate,
    ConnectorPatch,
    MappingIn,
    OAuth2AuthIn,
)
from connectors import errors as connector_errors
from connectors.mapping import MappingError, compile_mapping
from connectors.systems import ADAPTERS, adapter
from dictionary import Dictionary

PROBE_SUBJECTS = 4


def utcnow() -> datetime:
    return datetime.now(UTC)


# -- shipped mappings ---------------------------------------------------------------------


@lru_cache(maxsize=1)
def shipped_mappings() -> dict[str, dict[str, Any]]:
    """The mappings shipped in ``connectors/mappings/``, by their ``id`` (``system.Record``)."""
    return {
        str(spec["id"]): spec
        for system in ADAPTERS.values()
        for spec in system.load_mappings()
        if spec.get("id")
    }


def _resolve_mappings(
    system: str, entries: Sequence[str | MappingIn], where: str
) -> tuple[list[tuple[str, dict[str, Any], str | None]], list[dict[str, Any]]]:
    """(record type, spec, shipped name) per entry, and the problems found."""
    resolved: list[tuple[str, dict[str, Any], str | None]] = []
    problems: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        item = MappingIn(record_type=entry) if isinstance(entry, str) else entry
        path = f"/{where}/{index}"
        if item.record_type in seen:
            problems.append(
                {
                    "path": path + "/record_type",
                    "code": "duplicate_record_type",
                    "message": f"{item.record_type} is listed twice.",
                }
            )
            continue
        seen.add(item.record_type)
        if item.mapping is not None and item.shipped is not None:
            problems.append(
                {
                    "path": path,
                    "code": "ambiguous_mapping",
                    "message": "Give either an inline mapping or a shipped one, not both.",
                }
            )
            continue
        if item.mapping is not None:
            spec = dict(item.mapping)
            spec.setdefault("record_type", item.record_type)
            spec.setdefault("system", system)
            resolved.append((item.record_type, spec, None))
            continue
        name = item.shipped or f"{system}.{item.record_type}"
        shipped = shipped_mappings().get(name)
        if shipped is None:
            problems.append(
                {
                    "path": path + ("/shipped" if item.shipped else "/record_type"),
                    "code": "unknown_shipped_mapping",
                    "message": f"No shipped mapping {name!r}; known: "
                    f"{', '.join(sorted(shipped_mappings())) or 'none'}.",
                }
            )
            continue
        resolved.append((item.record_type, dict(shipped), name))
    return resolved, problems


def check_mappings(
    dictionary: Dictionary,
    system: str,
    entries: Sequence[str | MappingIn],
    where: str = "record_types",
) -> list[tuple[str, dict[str, Any], str | None]]:
    """Resolve and compile every mapping; refuse with 422 listing every problem."""
    resolved, problems = _resolve_mappings(system, entries, where)
    positions = {(e if isinstance(e, str) else e.record_type): i for i, e in enumerate(entries)}
    for record_type_name, spec, _shipped in resolved:
        base = f"/{where}/{positions[record_type_name]}"
        record_type = dictionary.record_types.get(record_type_name)
        if record_type is None:
            problems.append(
                {
                    "path": base + "/record_type",
                    "code": "unknown_record_type",
                    "message": f"The dictionary has no record type {record_type_name!r}.",
                }
            )
            continue
        if record_type.owner_system != system:
            problems.append(
                {
                    "path": base + "/record_type",
                    "code": "wrong_system",
                    "message": f"{record_type_name} is held by {record_type.owner_system}, "
                    f"not {system}.",
                }
            )
        if spec.get("record_type") != record_type_name:
            problems.append(
                {
                    "path": base + "/mapping/record_type",
                    "code": "record_type_mismatch",
                    "message": f"The mapping is for {spec.get('record_type')!r}, "
                    f"not {record_type_name}.",
                }
            )
            continue
        try:
            compile_mapping(spec, dictionary)
        except MappingError as exc:
            for problem in exc.problems:
                problems.append(
                    {
                        "path": f"{base}/mapping/{problem['path'].replace('.', '/')}",
                        "code": problem["code"],
                        "message": problem["message"],
                    }
                )
    if problems:
        raise InvalidMapping(
            "The connector's mappings do not fit the dictionary; every problem is listed.",
            errors=problems,
        )
    return resolved


# -- registrations ----------------------------------------------------------------------------


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


async def get_registration(session: AsyncSession, connector_id: str) -> ConnectorRegistration:
    row = await session.get(ConnectorRegistration, connector_id)
    if row is None:
        row = await session.scalar(
            select(ConnectorRegistration).where(ConnectorRegistration.name == connector_id)
        )
    if row is None:
        raise NotFound(f"No connector {connector_id!r}.", code="connector_not_found")
    return row


async def list_registrations(session: AsyncSession) -> list[ConnectorRegistration]:
    rows = await session.scalars(
        select(ConnectorRegistration).order_by(ConnectorRegistration.created_at)
    )
    return list(rows.all())


async def mappings_of(
    session: AsyncSession, connector_ids: Iterable[str]
) -> list[ConnectorMapping]:
    ids = list(connector_ids)
    if not ids:
        return []
    rows = await session.scalars(
        select(ConnectorMapping)
        .where(ConnectorMapping.connector_id.in_(ids))
        .order_by(ConnectorMapping.record_type, ConnectorMapping.version)
    )
    return list(rows.all())


async def register(
    session: AsyncSession,
    registry: ConnectorRegistry,
    principal_id: str,
    body: ConnectorCreate,
) -> tuple[ConnectorRegistration, list[ConnectorMapping]]:
    """Validate, probe and store a connector. A failed probe stores it disabled."""
    name = body.name or body.system.replace("_", "-")
    entries = body.record_types
    if entries is None:
        entries = list(adapter(body.system).record_types)
    resolved = check_mappings(registry.dictionary, body.system, entries)
    existing = await session.scalar(
        select(ConnectorRegistration.id).where(ConnectorRegistration.name == name)
    )
    if existing is not None:
        raise Conflict(f"A connector named {name!r} exists.", code="connector_exists")
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
    # No connection is held while the probe waits on the source.
    await session.rollback()
    live = registry.build(registration, mappings)
    try:
        report = await probe(live, body.probe_subject)
        registration.probe = report
        registration.enabled = body.enabled and bool(report["ok"])
        live.enabled = registration.enabled
        session.add(registration)
        await session.flush()
        session.add_all(mappings)
        await session.commit()
    except IntegrityError:
        await live.aclose()
        raise Conflict(f"A connector named {name!r} exists.", code="connector_exists") from None
    except BaseException:
        await live.aclose()
        raise
    await registry.install(live)
    return registration, mappings


async def update(
    session: AsyncSession,
    registry: ConnectorRegistry,
    principal_id: str,
    connector_id: str,
    body: ConnectorPatch,
) -> tuple[ConnectorRegistration, list[ConnectorMapping], list[str]]:
    """Apply a change; every change bumps ``revision``. Returns the changed keys too."""
    row = await get_registration(session, connector_id)
    existing = await mappings_of(session, [row.id])
    changed: list[str] = []
    now = utcnow()
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
    all_mappings = [*existing, *new_rows]
    if body.enabled is not None and body.enabled != row.enabled:
        row.enabled = body.enabled
        changed.append("enabled")
    live = registry.build(row, all_mappings)
    try:
        if body.reprobe:
            row.probe = await probe(live, None)
            changed.append("probe")
        live.enabled = row.enabled
        row.revision += 1
        row.updated_at = now
        row.updated_by = principal_id
        session.add_all(new_rows)
        live.revision = row.revision
        await session.commit()
    except BaseException:
        await live.aclose()
        raise
    await registry.install(live)
    return row, all_mappings, changed


async def remove(session: AsyncSession, registry: ConnectorRegistry, connector_id: str) -> str:
    row = await get_registration(session, connector_id)
    identifier = row.id
    await session.execute(delete(QualityWindow).where(QualityWindow.connector_id == identifier))
    await session.execute(
        delete(ConnectorMapping).where(ConnectorMapping.connector_id == identifier)
    )
    await session.delete(row)
    await session.commit()
    await registry.remove(identifier)
    return identifier


# -- probe ------------------------------------------------------------------------------------


def _step_dict(step: Any, record_type: str) -> dict[str, Any]:
    return {
        "step": step.name,
        "ok": step.status != "failed",
        "status": step.status,
        "detail": step.detail,
        "code": step.error,
        "kind": step.kind,
        "record_type": record_type,
        "elapsed_ms": round(step.duration_ms, 2),
    }


async def probe(live: LiveConnector, subject: str | None) -> dict[str, Any]:
    """Reachability, auth and one sample fetch validated end to end, per record type. A
    subject without a record of some type (not everyone is married) is not a failure: the
    probe tries a few listed subjects, and reports the step skipped if none has one. The
    report shows sample subjects masked, never in clear."""
    steps: list[dict[str, Any]] = []
    candidates: list[str] = [subject] if subject else []
    sampled = False
    for record_type, mapping in sorted(live.mappings.items()):
        report = await live.http.probe(mapping, candidates[0] if candidates else None)
        if report.sample_subject and report.sample_subject not in candidates:
            candidates.append(report.sample_subject)
        sample = next((s for s in report.steps if s.name == "sample"), None)
        if sample is not None and sample.error == "subject_not_found":
            if len(candidates) < PROBE_SUBJECTS:
                candidates.extend(await _more_subjects(live, candidates))
            for other in candidates[1:PROBE_SUBJECTS]:
                retry = await live.http.probe(mapping, other)
                if retry.ok:
                    report = retry
                    break
            else:
                steps.extend(_step_dict(s, record_type) for s in report.steps if s.name != "sample")
                steps.append(
                    {
                        "step": "sample",
                        "ok": True,
                        "status": "skipped",
                        "detail": "reachable, but none of the sampled subjects has this record",
                        "code": "no_sample_record",
                        "kind": None,
                        "record_type": record_type,
                        "elapsed_ms": 0.0,
                    }
                )
                continue
        sampled = sampled or report.ok
        steps.extend(_step_dict(s, record_type) for s in report.steps)
    return {
        "ok": sampled and all(s["ok"] for s in steps),
        "checked_at": utcnow().isoformat(),
        "sample_subjects": [mask_citizen_id(c) for c in candidates[:PROBE_SUBJECTS]],
        "steps": steps,
    }


async def _more_subjects(live: LiveConnector, have: list[str]) -> list[str]:
    lister = next((m for m in live.mappings.values() if m.listing is not None), None)
    if lister is None:
        return []
    try:
        listed = await live.http.list_subjects(lister, PROBE_SUBJECTS + len(have))
    except Exception:
        return []
    return [s for s in listed if s not in have]


# -- quality ----------------------------------------------------------------------------------


async def quality(
    session: AsyncSession, registry: ConnectorRegistry, connector_id: str
) -> dict[str, Any]:
    row = await get_registration(session, connector_id)
    await registry.flush_quality(row.id)
    windows = (
        await session.scalars(
            select(QualityWindow)
            .where(QualityWindow.connector_id == row.id)
            .order_by(QualityWindow.id)
        )
    ).all()
    live: dict[str, QualityCounters] = {}
    scans: dict[str, QualityWindow] = {}
    first_seen: dict[str, datetime] = {}
    for window in windows:
        if window.kind == "scan":
            scans[window.record_type] = window
            continue
        live.setdefault(window.record_type, QualityCounters()).merge(counters_of(window))
        started = window.started_at
        first_seen.setdefault(
            window.record_type, started if started.tzinfo else started.replace(tzinfo=UTC)
        )
    record_types: dict[str, Any] = {}
    for record_type in sorted(set(row.record_types) | set(live) | set(scans)):
        entry: dict[str, Any] = {}
        if record_type in live:
            entry["live"] = {"since": first_seen[record_type], **live[record_type].scores()}
        else:
            entry["live"] = None
        scan = scans.get(record_type)
        entry["scan"] = (
            {
                "scanned_at": scan.ended_at
                if scan.ended_at.tzinfo
                else scan.ended_at.replace(tzinfo=UTC),
                **scan.details.get("scan", {}),
                **counters_of(scan).scores(),
            }
            if scan is not None
            else None
        )
        record_types[record_type] = entry
    return {"connector_id": row.id, "name": row.name, "record_types": record_types}


def _find_partner(registry: ConnectorRegistry, wanted: str | None) -> LiveConnector | None:
    for live in registry.all():
        if wanted is not None and wanted in (live.id, live.name):
            return live
    if wanted is not None:
        return None
    partners = [c for c in registry.all() if c.enabled and "BirthRegistration" in c.mappings]
    return partners[0] if partners else None


async def scan(
    session: AsyncSession,
    registry: ConnectorRegistry,
    connector_id: str,
    *,
    sample: int,
    record_type: str | None = None,
    conflicts_with: str | None = None,
    concurrency: int = 16,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Fetch a sample of the source's subjects, score them, and for population Person check
    each against civil status's BirthRegistration (cross-source conflicts). One scan row per
    record type is stored; the answer is :func:`quality`'s."""
    row = await get_registration(session, connector_id)
    identifier, name = row.id, row.name
    # The scan takes seconds: hold no connection meanwhile.
    await session.rollback()
    await registry.refresh_if_stale()
    live = registry.get(identifier)
    if live is None:
        raise NotFound(f"Connector {name} is not loaded.", code="connector_not_found")
    targets = [record_type] if record_type else sorted(live.mappings)
    unknown = [t for t in targets if t not in live.mappings]
    if unknown:
        raise NotFound(f"{name} does not serve {', '.join(unknown)}.", code="not_served")
    lister = next((m for m in live.mappings.values() if m.listing is not None), None)
    if lister is None:
        raise Conflict(
            f"{name}'s mappings declare no subject listing; it cannot be sampled.",
            code="not_sampleable",
        )
    try:
        subjects = await live.http.list_subjects(lister, limit=sample)
    except Exception as exc:
        raise hub_error(exc) from exc
    partner = None
    if "Person" in targets:
        partner = _find_partner(registry, conflicts_with)
    started = utcnow()
    counters = {t: QualityCounters() for t in targets}
    errors_by_code: dict[str, int] = {}
    total = len(subjects) * len(targets)
    done = 0
    gate = asyncio.Semaphore(concurrency)

    async def one(subject: str, target: str) -> None:
        nonlocal done
        async with gate:
            try:
                records = await live.http.fetch(live.mappings[target], subject)
            except connector_errors.SourceInvalidRecord as exc:
                counters[target].observe_invalid(sorted({str(i.get("code")) for i in exc.issues}))
            except Exception as exc:
                code = hub_error(exc).code
                errors_by_code[code] = errors_by_code.get(code, 0) + 1
            else:
                live.observe(counters[target], target, records)
                if target == "Person" and partner is not None and records:
                    await _check_conflict(partner, subject, records[0], counters[target])
            done += 1
            if progress is not None:
                progress(done, total)

    await asyncio.gather(*(one(s, t) for t in targets for s in subjects))
    ended = utcnow()
    for target in targets:
        scan_details = {
            "scan": {
                "sample": len(subjects),
                "requested_sample": sample,
                "conflicts_with": partner.name if partner is not None else None,
                "errors_by_code": dict(sorted(errors_by_code.items())),
            }
        }
        session.add(
            window_row(identifier, target, "scan", started, ended, counters[target], scan_details)
        )
    await session.commit()
    return await quality(session, registry, identifier)


async def _check_conflict(
    partner: LiveConnector, subject: str, person: Any, counters: QualityCounters
) -> None:
    try:
        births = await partner.http.fetch(partner.mappings["BirthRegistration"], subject)
    except Exception:
        return
    if not births:
        return
    birth = births[0]
    counters.observe_conflict_check(
        person_birth_conflict(
            person.data,
            birth.data,
            person_ref=_masked(person.raw_reference, subject),
            birth_ref=birth.raw_reference or "",
        )
    )


def _masked(reference: str | None, subject: str) -> str:
    if not reference or reference == subject:
        return mask_citizen_id(subject)
    return reference
