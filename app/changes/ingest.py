"""Reading the source systems' change feeds into the change log.

Each enabled connector whose mappings declare ``changes`` has one feed (the mappings of a
system share it; each reads the entries of its own record type). An instance reads a page
after the connector's cursor, checks each created or updated record against the dictionary
(the connector fetches it, mapped and validated: the change of a record that does not
validate is not published, and the connector's quality counters say so), and then, in one
transaction, moves the cursor with a conditional UPDATE and appends the changes. Two
instances reading the same page race for the cursor: one moves it, the other's transaction
is rolled back, so every entry is appended once; the change log's unique key on the source's
sequence is the second guard. A source that stops answering halfway through a page keeps
the entries before it; the rest are read again on the next round.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from app.background import Repeating
from app.changes.log import NewChange, append_changes
from app.changes.models import DELETED, FeedCursor
from app.errors import HubError
from app.sources.errors import SubjectNotFound
from app.timestamps import utcnow
from connectors.errors import ConnectorError
from connectors.mapping import CompiledFeed, CompiledMapping, FeedEntry

if TYPE_CHECKING:
    from app.hub import Hub
    from app.sources.runtime import LiveConnector

log = logging.getLogger("hub.changes")

FETCH_CONCURRENCY = 16


@dataclass(frozen=True, slots=True)
class _Read:
    mapping: CompiledMapping
    entry: FeedEntry


class _SourceStopped(Exception):
    """The source stopped answering while its records were being checked."""


class FeedReader(Repeating):
    """One instance's reader of every connector's change feed."""

    name = "change-feeds"

    def __init__(self, hub: Hub) -> None:
        super().__init__(hub.settings.change_feed_poll_seconds)
        self._hub = hub
        self._provinces: dict[str, str | None] = {}

    async def run_once(self) -> int:
        """Read one page of every feed; the number of changes appended."""
        connectors = self._hub.connectors
        await connectors.refresh_if_stale()
        appended = 0
        for live in connectors.all():
            if not live.enabled:
                continue
            feeds: dict[tuple[Any, ...], list[CompiledMapping]] = {}
            for mapping in live.mappings.values():
                if mapping.changes is not None:
                    feeds.setdefault(mapping.changes.key, []).append(mapping)
            for mappings in feeds.values():
                try:
                    appended += await self._read(live, mappings)
                except (ConnectorError, HubError) as exc:
                    log.info("change feed of %s: %s", live.name, type(exc).__name__)
        return appended

    async def _cursor(self, live: LiveConnector) -> int:
        async with self._hub.sessionmaker() as session:
            found = await session.scalar(
                select(FeedCursor.source_seq).where(FeedCursor.connector_id == live.id)
            )
        if found is not None:
            return int(found)
        with contextlib.suppress(IntegrityError):  # another instance made it first
            async with self._hub.sessionmaker.begin() as session:
                session.add(
                    FeedCursor(
                        connector_id=live.id, system=live.system, source_seq=0, updated_at=utcnow()
                    )
                )
        return 0

    async def _read(self, live: LiveConnector, mappings: list[CompiledMapping]) -> int:
        feed: CompiledFeed = mappings[0].changes  # type: ignore[assignment]
        after = await self._cursor(live)
        items, body = await live.http.read_feed(feed, after)
        page: list[tuple[int, list[_Read]]] = []
        for raw in items:
            sequence = feed.sequence_of(raw)
            if sequence is None or sequence <= after:
                continue
            reads = [
                _Read(m, e)
                for m in mappings
                if (e := m.changes.entry(raw)) is not None  # type: ignore[union-attr]
            ]
            page.append((sequence, reads))
        if not page:
            return 0
        checked, reached = await self._check(live, page)
        if reached <= after:
            return 0
        async with self._hub.sessionmaker.begin() as session:
            moved = await session.execute(
                update(FeedCursor)
                .where(FeedCursor.connector_id == live.id, FeedCursor.source_seq == after)
                .values(source_seq=reached, source_last_seq=feed.last_of(body), updated_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            if getattr(moved, "rowcount", 0) != 1:
                return 0  # another instance took this page; nothing of ours is written
            events = await append_changes(session, checked, self._hub.change_listeners)
        return len(events)

    async def _check(
        self, live: LiveConnector, page: list[tuple[int, list[_Read]]]
    ) -> tuple[list[NewChange], int]:
        """The page's changes whose records validate, and the last sequence checked (the
        page stops at the first entry whose source did not answer)."""
        limit = asyncio.Semaphore(FETCH_CONCURRENCY)

        async def check(read: _Read) -> NewChange | None:
            async with limit:
                return await self._change(live, read)

        results = await asyncio.gather(
            *(check(read) for _sequence, reads in page for read in reads),
            return_exceptions=True,
        )
        changes: list[NewChange] = []
        reached = page[0][0] - 1
        position = 0
        for sequence, reads in page:
            outcomes = results[position : position + len(reads)]
            position += len(reads)
            if any(isinstance(o, _SourceStopped) for o in outcomes):
                break
            for outcome in outcomes:
                if isinstance(outcome, BaseException):
                    raise outcome
                if outcome is not None:
                    changes.append(outcome)
            reached = sequence
        return changes, reached

    async def _change(self, live: LiveConnector, read: _Read) -> NewChange | None:
        entry, mapping = read.entry, read.mapping
        if entry.operation != DELETED and not entry.changed_fields and entry.unmapped_fields:
            return None  # only fields the record type does not carry changed
        province: str | None = None
        if entry.operation != DELETED:
            try:
                fetched = await live.fetch(mapping.record_type, entry.subject_id)
            except SubjectNotFound:
                fetched = None  # gone again since: the change is still news
            except HubError as exc:
                if exc.code == "source_invalid_record":
                    return None  # not published; counted in the connector's quality
                raise _SourceStopped from exc
            if fetched is not None:
                record = next(
                    (
                        r
                        for r in fetched.records
                        if entry.source_reference is None
                        or r.raw_reference == entry.source_reference
                    ),
                    fetched.records[0] if fetched.records else None,
                )
                if record is not None:
                    province = self._province(mapping, record.data)
        return NewChange(
            system=live.system,
            connector_id=live.id,
            source_seq=entry.sequence,
            record_type=mapping.record_type,
            operation=entry.operation,
            subject_id=entry.subject_id,
            dictionary_version=mapping.record_version,
            changed_fields=entry.changed_fields,
            province_code=province,
            source_reference=entry.source_reference,
            record_version=entry.version,
            registered_at=entry.registered_at,
            effective_on=entry.effective_on,
        )

    def _province(self, mapping: CompiledMapping, data: dict[str, Any]) -> str | None:
        """The record's province: its first field whose element takes a province code."""
        name = self._provinces.get(mapping.record_type, "")
        if name == "":
            elements = self._hub.dictionary.elements
            name = next(
                (
                    f.name
                    for f in mapping.validator.record_version.fields
                    if getattr(elements.get(f.element), "codelist", None) == "province"
                ),
                None,
            )
            self._provinces[mapping.record_type] = name
        value = data.get(name) if name else None
        return str(value) if value is not None else None
