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
from app.sources.crosscheck import Rule, rules_of
from app.sources.errors import ConnectorNotFound, NotSampleable, NotServed
from app.sources.lookup import get_registration
from app.sources.models import QualityWindow
from app.sources.quality import QualityCounters
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


def _find_partners(
    registry: ConnectorRegistry, target: str, wanted: str | None
) -> list[tuple[Rule, LiveConnector]]:
    """The rules of ``target`` whose other side an enabled connector serves (``wanted``, an
    id or name, restricts them to that connector)."""
    found = []
    for rule in rules_of(target):
        if rule.left != target:
            continue
        for live in registry.all():
            named = wanted is None or wanted in (live.id, live.name)
            if named and live.enabled and rule.right in live.mappings:
                found.append((rule, live))
                break
    return found


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
    partners = {t: _find_partners(registry, t, conflicts_with) for t in targets}
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
                if partners[target] and records:
                    await _check_conflicts(partners[target], subject, records[0], counters[target])
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
                    "conflicts_with": ", ".join(sorted({p.name for _r, p in partners[target]}))
                    or None,
                    "conflict_rules": [r.id for r, _p in partners[target]],
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


async def _check_conflicts(
    partners: list[tuple[Rule, LiveConnector]],
    subject: str,
    record: Any,
    counters: QualityCounters,
) -> None:
    """One check per subject: the first rule its record breaks (fields and references only,
    never the values), or none; a subject none of the other systems holds is not checked."""
    compared = False
    for rule, partner in partners:
        try:
            others = await partner.http.fetch(partner.mappings[rule.right], subject)
        except Exception:
            continue
        for other in others:
            compared = True
            fields = rule.compare(record.data, other.data)
            if fields:
                counters.observe_conflict_check(
                    {
                        "rule": rule.id,
                        "fields": fields,
                        "population_reference": _masked(record.raw_reference, subject),
                        f"{partner.system}_reference": other.raw_reference or "",
                    }
                )
                return
    if compared:
        counters.observe_conflict_check(None)


def _masked(reference: str | None, subject: str) -> str:
    if not reference or reference == subject:
        return mask_citizen_id(subject)
    return reference
