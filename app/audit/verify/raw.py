"""The fast reader of the stored access log."""

from __future__ import annotations

import asyncio
import contextlib
from bisect import bisect_left
from collections.abc import AsyncIterator
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.merkle import leaf_hash
from app.audit.models import AuditEvent
from app.audit.serialize import EVENT_COLUMNS, event_bytes, events_bytes_from_text
from app.audit.verify.model import SEAL_COLUMNS, SealItem
from app.audit.verify.stored import _EVENT_SELECT

# The fast reader: raw driver rows (no ORM entities, no per-row type processing), many seals'
# events per query. Only for drivers whose rows it knows how to read; others take
# stored_batches above. Leaf bytes come from serialize.event_bytes_from_text, which builds the
# same record as event_bytes; a row it cannot read is read again the typed way.

_SEALS_PER_PAGE = 64
_LEAVES_PER_QUERY = 50_000
_HASH_SLICE = 500


class _RawReader:
    def __init__(self, driver: Any, dialect: str) -> None:
        self._driver = driver
        self._pg = dialect == "postgresql"
        columns = [*EVENT_COLUMNS, "leaf_index"]
        if self._pg:
            # The canonical timestamp text, made by the server (serialize.canonical_ts_text).
            columns[columns.index("ts")] = (
                "to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
            )
            columns[columns.index("fields")] = "fields::text"
            columns[columns.index("details")] = "details::text"
        p1, p2 = ("$1", "$2") if self._pg else ("?", "?")
        self._events_sql = (
            f"SELECT {', '.join(columns)} FROM audit_events WHERE leaf_index >= {p1} "
            f"AND leaf_index < {p2} ORDER BY leaf_index, seq"
        )
        self._seals_sql = (
            f"SELECT {', '.join(SEAL_COLUMNS)} FROM audit_seals WHERE seal_index > {p1} "
            f"AND seal_index <= {p2} ORDER BY seal_index LIMIT {_SEALS_PER_PAGE}"
        )

    @classmethod
    async def open(cls, session: AsyncSession) -> _RawReader | None:
        connection = await session.connection()
        name, driver = connection.dialect.name, connection.dialect.driver
        if (name, driver) not in (("sqlite", "aiosqlite"), ("postgresql", "asyncpg")):
            return None
        raw = await connection.get_raw_connection()
        return cls(raw.driver_connection, name)

    async def _fetch(self, sql: str, a: int, b: int) -> list[Any]:
        if self._pg:
            return list(await self._driver.fetch(sql, a, b))
        cursor = await self._driver.execute(sql, (a, b))
        try:
            return list(await cursor.fetchall())
        finally:
            await cursor.close()

    async def seals(self, after: int, last: int) -> list[SealItem]:
        rows = await self._fetch(self._seals_sql, after, last)
        return [_seal_of(r) for r in rows]

    async def event_rows(self, lower: int, end: int) -> list[Any]:
        """Raw rows with ``lower <= leaf_index < end`` in (leaf_index, seq) order."""
        return await self._fetch(self._events_sql, lower, end) if end > lower else []


def _seal_of(row: Any) -> SealItem:
    """A raw ``audit_seals`` row (its SEAL_COLUMNS, in order), leaf hashes as bytes."""
    values = dict(zip(SEAL_COLUMNS, row, strict=True))
    if values["leaf_hashes"] is not None:
        values["leaf_hashes"] = bytes(values["leaf_hashes"])
    return SealItem(**values)


_Plan = tuple[list[tuple[SealItem, int, int]], int, int]


async def _plans(
    reader: _RawReader, *, first_seal: int | None, last_seal: int | None
) -> AsyncIterator[_Plan]:
    """Seals in chain order, grouped into queries: each plan is the seals with their leaf
    ranges, and the one range ``[lo, hi)`` that one query reads for all of them."""
    after = (first_seal - 1) if first_seal is not None else -1
    last = last_seal if last_seal is not None else (1 << 62)
    next_leaf: int | None = None
    while True:
        seals = await reader.seals(after, last)
        if not seals:
            return
        # As stored_batches: a seal's events are those with lower <= leaf_index < end, where
        # lower is the previous seal's end when that is smaller (so events whose seal was
        # deleted are seen too).
        ranges = []
        for seal in seals:
            lower = seal.leaf_start
            if next_leaf is not None:
                lower = min(next_leaf, seal.leaf_start)
            end = seal.leaf_start + seal.leaf_count
            ranges.append((seal, lower, end))
            next_leaf = end
        i = 0
        while i < len(ranges):
            j, lo, hi = i + 1, ranges[i][1], ranges[i][2]
            while j < len(ranges):
                lo2, hi2 = min(lo, ranges[j][1]), max(hi, ranges[j][2])
                if hi2 - lo2 > _LEAVES_PER_QUERY:
                    break
                lo, hi, j = lo2, hi2, j + 1
            yield ranges[i:j], lo, hi
            i = j
        after = seals[-1].seal_index


async def _raw_batches(
    session: AsyncSession,
    reader: _RawReader,
    *,
    first_seal: int | None,
    last_seal: int | None,
) -> AsyncIterator[tuple[list[int], list[int | None], list[bytes], SealItem]]:
    """The same batches as ``stored_batches`` (the same events, in the same order), from raw
    rows, several seals per query, as (ids, positions, leaf hashes) for
    ``Verifier.feed_hashed``. The next query runs while this one's rows are hashed."""
    plans = _plans(reader, first_seal=first_seal, last_seal=last_seal)
    plan = await anext(plans, None)
    task = asyncio.ensure_future(reader.event_rows(plan[1], plan[2])) if plan else None
    try:
        while plan is not None and task is not None:
            rows = await task
            current, plan = plan, await anext(plans, None)
            task = asyncio.ensure_future(reader.event_rows(plan[1], plan[2])) if plan else None
            # In slices, handing the loop a turn in between: the driver then keeps receiving
            # the next query's rows (PostgreSQL) while these are hashed.
            datas: list[bytes | None] = []
            for k in range(0, len(rows), _HASH_SLICE):
                datas += events_bytes_from_text(rows[k : k + _HASH_SLICE], then=leaf_hash)
                await asyncio.sleep(0)
            if None in datas:
                # Rows not in the form the fast path reads: read them typed, as
                # stored_batches does (once the connection is free).
                if task is not None:
                    await asyncio.wait([task])
                for k, data in enumerate(datas):
                    if data is None:
                        typed = await session.execute(
                            select(*_EVENT_SELECT).where(AuditEvent.seq == rows[k][0])
                        )
                        row = typed.first()  # gone meanwhile: then it is not there
                        datas[k] = leaf_hash(event_bytes(row._mapping)) if row is not None else None
            kept = [(row, data) for row, data in zip(rows, datas, strict=True) if data is not None]
            if len(kept) != len(rows):
                rows, datas = [r for r, _ in kept], [d for _, d in kept]
            seqs: list[int] = [row[0] for row in rows]
            leaves: list[Any] = [row[21] for row in rows]  # ints: leaf_index >= lo
            hashes = cast(list[bytes], datas)
            ranges, lo, hi = current
            for seal, lower, end in ranges:
                if lower == lo and end == hi:
                    yield seqs, leaves, hashes, seal
                elif lower >= end:
                    yield [], [], [], seal
                else:
                    a, b = bisect_left(leaves, lower), bisect_left(leaves, end)
                    yield seqs[a:b], leaves[a:b], hashes[a:b], seal
    finally:
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
