"""Data-quality scores of a connector: the report from its stored windows, and the sample
scan that fetches subjects, scores them and checks cross-source conflicts."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.audit.service import mask_citizen_id
from app.sources.errors import ConnectorNotFound, NotSampleable, NotServed
from app.sources.lookup import get_registration
from app.sources.models import QualityWindow
from app.sources.quality import QualityCounters, person_birth_conflict
from app.sources.runtime import (
    ConnectorRegistry,
    LiveConnector,
    counters_of,
    hub_error,
    window_row,
)
from app.timestamps import utcnow
from connectors import errors as connector_errors


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
        first_seen.setdefault(window.record_type, window.started_at)
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
                "scanned_at": scan.ended_at,
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
    sessionmaker: async_sessionmaker[AsyncSession],
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
    record type is stored; the answer is :func:`quality`'s. The scan takes seconds: no
    session is open while it waits on the sources."""
    async with sessionmaker.begin() as session:  # which connector
        row = await get_registration(session, connector_id)
        identifier, name = row.id, row.name
    await registry.refresh_if_stale()
    live = registry.get(identifier)
    if live is None:
        raise ConnectorNotFound(f"Connector {name} is not loaded.")
    targets = [record_type] if record_type else sorted(live.mappings)
    unknown = [t for t in targets if t not in live.mappings]
    if unknown:
        raise NotServed(f"{name} does not serve {', '.join(unknown)}.")
    lister = next((m for m in live.mappings.values() if m.listing is not None), None)
    if lister is None:
        raise NotSampleable(f"{name}'s mappings declare no subject listing; it cannot be sampled.")
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
    async with sessionmaker.begin() as session:  # store one scan row per record type
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
                window_row(
                    identifier, target, "scan", started, ended, counters[target], scan_details
                )
            )
    async with sessionmaker.begin() as session:  # the report
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
