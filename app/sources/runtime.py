"""The live connectors of one hub instance (``Hub.connectors``).

Built at start from the database and updated in place by this instance's register, patch
and delete. Other instances learn of a change within ``HUB_CONNECTOR_REFRESH_SECONDS``:
at most that often, a pull runs one cheap query (``SELECT id, revision FROM connectors``)
and rebuilds the connectors whose revision moved. That is the bounded staleness the
registry accepts instead of a database round trip on every pull.

Every fetch also feeds the live data-quality counters, which are written to the database
(one appended row per connector and record type) at most every ``HUB_QUALITY_FLUSH_SECONDS``,
on a quality read, and at shutdown.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.errors import HubError
from app.sources import errors
from app.sources.crypto import SecretBox, load_fernet
from app.sources.models import ConnectorMapping, ConnectorRegistration, QualityWindow
from app.sources.quality import QualityCounters, fit_histogram
from app.sources.transport import LeanTransport
from app.timestamps import utcnow
from connectors import errors as connector_errors
from connectors.base import (
    ApiKeyAuth,
    BreakerPolicy,
    ConnectorConfig,
    HttpConnector,
    OAuth2ClientCredentials,
    RetryPolicy,
    SourceRecord,
    Timeouts,
    WriteResponse,
)
from connectors.mapping import CompiledMapping, compile_mapping
from connectors.mapping.write import CompiledWrite, SourceRequest
from dictionary import Dictionary

log = logging.getLogger("hub.sources")


@dataclass(frozen=True, slots=True)
class Fetched:
    connector_id: str
    system: str
    records: list[SourceRecord]
    dictionary_version: str
    retrieved_at: datetime


def hub_error(exc: Exception) -> HubError:
    """A connector failure as the hub's error; anything unexpected is ``source_unavailable``."""
    if isinstance(exc, HubError):
        return exc
    if isinstance(exc, connector_errors.SubjectNotFound):
        return errors.SubjectNotFound("The source holds no such record for this subject.")
    if isinstance(exc, connector_errors.BreakerOpen):
        retry_after = max(1, round(exc.retry_after + 0.499))
        return errors.SourceUnavailable(
            "The source is failing; the circuit breaker is open and calls fail fast.",
            headers={"Retry-After": str(retry_after)},
            extra={"retry_after": retry_after, "breaker": "open"},
        )
    if isinstance(exc, connector_errors.SourceTimeout):
        return errors.SourceTimeout("The source system did not answer in time.")
    if isinstance(exc, connector_errors.SourceInvalidRecord):
        return errors.SourceInvalidRecord(
            "The source's record does not match the national dictionary.",
            errors=[
                {k: issue.get(k) for k in ("path", "element", "code", "message", "record")}
                for issue in exc.issues
            ],
        )
    if isinstance(exc, connector_errors.ConnectorError):
        return errors.SourceUnavailable(
            f"The source system is unavailable ({exc.kind}).", extra={"kind": exc.kind}
        )
    return errors.SourceUnavailable("The source system could not be reached.")


class LiveConnector:
    """One registration made live: its HTTP connector and compiled mappings."""

    def __init__(
        self,
        registration: ConnectorRegistration,
        http: HttpConnector,
        mappings: dict[str, CompiledMapping],
    ) -> None:
        self.id = registration.id
        self.name = registration.name
        self.system = registration.system
        self.enabled = registration.enabled
        self.revision = registration.revision
        self.created_at = registration.created_at
        self.http = http
        self.mappings = mappings
        self._fields: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
            name: (
                tuple(f.name for f in m.validator.record_version.fields if f.required),
                tuple(f.name for f in m.validator.record_version.fields if not f.required),
            )
            for name, m in mappings.items()
        }
        self.pending: dict[str, QualityCounters] = {}
        self.pending_since = utcnow()

    def stats(self) -> dict[str, Any]:
        snapshot: dict[str, Any] = self.http.stats.snapshot()
        return snapshot

    async def fetch(self, record_type: str, subject_id: str) -> Fetched:
        mapping = self.mappings[record_type]
        started = utcnow()
        try:
            records = await self.http.fetch(mapping, subject_id)
        except connector_errors.SourceInvalidRecord as exc:
            self._count_invalid(record_type, exc)
            raise hub_error(exc) from exc
        except Exception as exc:
            raise hub_error(exc) from exc
        self.observe(self.counters(record_type), record_type, records, started)
        return Fetched(
            connector_id=self.id,
            system=self.system,
            records=records,
            dictionary_version=mapping.record_version,
            retrieved_at=records[0].retrieved_at if records else started,
        )

    async def write(self, request: SourceRequest) -> WriteResponse:
        return await self.http.write(request)

    def counters(self, record_type: str) -> QualityCounters:
        counters = self.pending.get(record_type)
        if counters is None:
            counters = self.pending[record_type] = QualityCounters()
        return counters

    def observe(
        self,
        counters: QualityCounters,
        record_type: str,
        records: Iterable[SourceRecord],
        now: datetime | None = None,
    ) -> None:
        """Count fetched records that validated, against this mapping's required and optional
        fields."""
        required, optional = self._fields[record_type]
        for record in records:
            counters.observe(
                record.data,
                required=required,
                optional=optional,
                last_updated=record.last_updated,
                now=now,
            )

    def _count_invalid(self, record_type: str, exc: connector_errors.SourceInvalidRecord) -> None:
        counters = self.counters(record_type)
        by_record: dict[Any, list[str]] = {}
        for issue in exc.issues:
            by_record.setdefault(issue.get("record", 0), []).append(str(issue.get("code")))
        for codes in by_record.values() or [["invalid"]]:
            counters.observe_invalid(codes)

    def take_pending(self) -> tuple[datetime, dict[str, QualityCounters]]:
        pending, since = self.pending, self.pending_since
        self.pending = {}
        self.pending_since = utcnow()
        return since, {rt: c for rt, c in pending.items() if not c.empty}

    async def aclose(self) -> None:
        await self.http.aclose()


def _auth(registration: ConnectorRegistration, secrets: dict[str, Any]) -> Any:
    values = {**registration.auth_settings, **secrets}
    if registration.auth_kind == "api_key":
        return ApiKeyAuth(**values)
    if registration.auth_kind == "oauth2":
        return OAuth2ClientCredentials(**values)
    return None


def connector_config(registration: ConnectorRegistration, box: SecretBox) -> ConnectorConfig:
    policy = registration.policy
    return ConnectorConfig(
        system=registration.system,
        base_url=registration.base_url,
        auth=_auth(registration, box.open(registration.auth_secret)),
        timeouts=Timeouts(**policy["timeouts"]),
        retries=RetryPolicy(**policy["retries"]),
        breaker=BreakerPolicy(**policy["breaker"]),
        max_concurrency=int(policy["max_concurrency"]),
    )


class ConnectorRegistry:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        dictionary: Dictionary,
        box: SecretBox,
        *,
        refresh_seconds: float,
        flush_seconds: float,
    ) -> None:
        self._sessionmaker = sessionmaker
        self.dictionary = dictionary
        self.box = box
        self._refresh_seconds = refresh_seconds
        self._flush_seconds = flush_seconds
        self._by_id: dict[str, LiveConnector] = {}
        self._serving: dict[str, LiveConnector] = {}
        self._checked = time.monotonic()
        self._flushed = time.monotonic()
        self._refresh_lock = asyncio.Lock()
        self._flush_task: asyncio.Task[None] | None = None
        self._retiring: set[asyncio.Task[None]] = set()
        # In-process sources (make run's mocks): base URL prefix -> ASGI app.
        self._in_process: dict[str, Any] = {}

    # -- building

    def serve_in_process(self, base_url: str, app: Any) -> None:
        """Reach ``base_url`` through ``app`` without a socket (the demo's mounted mocks)."""
        self._in_process[base_url.rstrip("/")] = app

    def _transport(self, base_url: str) -> httpx.AsyncBaseTransport:
        prefix = base_url.rstrip("/")
        app = self._in_process.get(prefix)
        if app is None:
            return LeanTransport()
        # As if mounted: the app sees its own paths under the prefix's root path.
        return httpx.ASGITransport(app=app, root_path=httpx.URL(prefix).path)

    def build(
        self, registration: ConnectorRegistration, mappings: Iterable[ConnectorMapping]
    ) -> LiveConnector:
        active = registration.active_mappings
        compiled: dict[str, CompiledMapping] = {}
        for row in mappings:
            if active.get(row.record_type) == row.version:
                compiled[row.record_type] = compile_mapping(row.spec, self.dictionary)
        http = HttpConnector(
            connector_config(registration, self.box),
            transport=self._transport(registration.base_url),
        )
        return LiveConnector(registration, http, compiled)

    async def install(self, live: LiveConnector) -> None:
        previous = self._by_id.get(live.id)
        self._by_id[live.id] = live
        if previous is not None and previous is not live:
            live.pending, live.pending_since = previous.pending, previous.pending_since
            self._retire(previous)
        self._reindex()

    async def remove(self, connector_id: str) -> None:
        previous = self._by_id.pop(connector_id, None)
        if previous is not None:
            self._retire(previous)
        self._reindex()

    def _retire(self, live: LiveConnector) -> None:
        """Close a replaced connector once the pulls already using it are done."""

        async def close_later() -> None:
            try:
                await asyncio.sleep(live.http.config.timeouts.total)
            finally:
                await live.aclose()

        task = asyncio.create_task(close_later())
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)

    def _reindex(self) -> None:
        serving: dict[str, LiveConnector] = {}
        for live in sorted(self._by_id.values(), key=lambda c: (c.created_at, c.id)):
            if not live.enabled:
                continue
            for record_type in live.mappings:
                serving.setdefault(record_type, live)
        self._serving = serving

    async def load(self) -> None:
        async with self._sessionmaker() as session:
            rows = (await session.scalars(select(ConnectorRegistration))).all()
            for row in rows:
                await self._load_one(session, row)
        self._checked = time.monotonic()

    async def _load_one(self, session: AsyncSession, row: ConnectorRegistration) -> None:
        mappings = (
            await session.scalars(
                select(ConnectorMapping).where(ConnectorMapping.connector_id == row.id)
            )
        ).all()
        try:
            live = self.build(row, mappings)
        except Exception:
            log.exception("connector %s (%s) cannot be built; it is not served", row.name, row.id)
            await self.remove(row.id)
            return
        await self.install(live)

    def get(self, connector_id: str) -> LiveConnector | None:
        return self._by_id.get(connector_id)

    def all(self) -> list[LiveConnector]:
        return list(self._by_id.values())

    # -- serving

    async def refresh_if_stale(self) -> None:
        if time.monotonic() - self._checked < self._refresh_seconds:
            return
        async with self._refresh_lock:
            if time.monotonic() - self._checked < self._refresh_seconds:
                return
            try:
                await self.refresh()
            except (SQLAlchemyError, OSError) as exc:
                # Serve from the registry this instance has and try again one interval later:
                # a pull must not fail (nor every pull queue on this lock) because the check
                # for other instances' changes could not run. If the database is really gone,
                # the pull's audit write refuses it with audit_unavailable.
                log.warning("connector registry refresh failed: %s", exc.__class__.__name__)
                self._checked = time.monotonic()

    async def refresh(self) -> None:
        """Catch up with changes other instances made (one query when nothing changed)."""
        async with self._sessionmaker() as session:
            result = await session.execute(
                select(ConnectorRegistration.id, ConnectorRegistration.revision)
            )
            revisions = {connector_id: revision for connector_id, revision in result}
            for connector_id in set(self._by_id) - set(revisions):
                await self.remove(connector_id)
            for connector_id, revision in revisions.items():
                live = self._by_id.get(connector_id)
                if live is None or live.revision != revision:
                    row = await session.get(ConnectorRegistration, connector_id)
                    if row is not None:
                        await self._load_one(session, row)
        self._checked = time.monotonic()

    def writers_for(self, record_type: str) -> list[tuple[LiveConnector, CompiledWrite]]:
        """The enabled connectors that take ``record_type`` as a write, one per system (the
        first registered of a system serves it, as for reads)."""
        found: dict[str, tuple[LiveConnector, CompiledWrite]] = {}
        for live in sorted(self._by_id.values(), key=lambda c: (c.created_at, c.id)):
            if not live.enabled or live.system in found:
                continue
            for mapping in live.mappings.values():
                write = mapping.write_for(record_type)
                if write is not None:
                    found[live.system] = (live, write)
                    break
        return list(found.values())

    def corrector_for(self, record_type: str) -> tuple[LiveConnector, CompiledMapping] | None:
        """The connector serving ``record_type`` if its mapping takes correction requests."""
        live = self._serving.get(record_type)
        if live is None or live.mappings[record_type].correction is None:
            return None
        return live, live.mappings[record_type]

    def source_for(self, record_type: str) -> LiveConnector:
        live = self._serving.get(record_type)
        if live is None:
            raise errors.NoSource(
                f"No enabled connector serves {record_type}.", extra={"record_type": record_type}
            )
        return live

    async def fetch(self, record_type: str, subject_id: str) -> Fetched:
        await self.refresh_if_stale()
        live = self.source_for(record_type)
        try:
            return await live.fetch(record_type, subject_id)
        finally:
            self._maybe_flush()

    # -- live quality counters

    def _maybe_flush(self) -> None:
        if time.monotonic() - self._flushed < self._flush_seconds:
            return
        if self._flush_task is not None and not self._flush_task.done():
            return
        self._flushed = time.monotonic()
        self._flush_task = asyncio.create_task(self.flush_quality())

    async def flush_quality(self, connector_id: str | None = None) -> None:
        rows: list[QualityWindow] = []
        now = utcnow()
        for live in list(self._by_id.values()):
            if connector_id is not None and live.id != connector_id:
                continue
            since, pending = live.take_pending()
            for record_type, counters in pending.items():
                rows.append(window_row(live.id, record_type, "live", since, now, counters))
        if not rows:
            return
        try:
            async with self._sessionmaker() as session:
                session.add_all(rows)
                await session.commit()
        except Exception:
            # Quality figures are best effort; a lost window never blocks the data path.
            log.exception("could not write %d live quality windows", len(rows))

    async def aclose(self) -> None:
        if self._flush_task is not None:
            await asyncio.gather(self._flush_task, return_exceptions=True)
        await self.flush_quality()
        for task in list(self._retiring):
            task.cancel()
        await asyncio.gather(*self._retiring, return_exceptions=True)
        for live in list(self._by_id.values()):
            await live.aclose()
        self._by_id.clear()
        self._serving.clear()


# The counters kept in a column of their own, under the same name on both sides.
_COUNTER_COLUMNS = (
    "fetched",
    "valid",
    "required_present",
    "required_expected",
    "optional_present",
    "optional_expected",
    "dated",
    "stale",
    "conflicts_checked",
    "conflicts",
)


def window_row(
    connector_id: str,
    record_type: str,
    kind: str,
    started_at: datetime,
    ended_at: datetime,
    counters: QualityCounters,
    details: dict[str, Any] | None = None,
) -> QualityWindow:
    return QualityWindow(
        connector_id=connector_id,
        record_type=record_type,
        kind=kind,
        started_at=started_at,
        ended_at=ended_at,
        **{name: getattr(counters, name) for name in _COUNTER_COLUMNS},
        age_histogram=list(counters.age_histogram),
        conflict_examples=list(counters.conflict_examples),
        details={"invalid_by_code": dict(counters.invalid_codes), **(details or {})},
    )


def counters_of(row: QualityWindow) -> QualityCounters:
    return QualityCounters(
        **{name: getattr(row, name) for name in _COUNTER_COLUMNS},
        age_histogram=fit_histogram(row.age_histogram),
        conflict_examples=list(row.conflict_examples),
        invalid_codes=dict(row.details.get("invalid_by_code", {})),
    )


def create_registry(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], dictionary: Dictionary
) -> ConnectorRegistry:
    return ConnectorRegistry(
        sessionmaker,
        dictionary,
        SecretBox(load_fernet(settings)),
        refresh_seconds=settings.connector_refresh_seconds,
        flush_seconds=settings.quality_flush_seconds,
    )
