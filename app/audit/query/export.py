"""Streaming export: the filtered events as JSONL or CSV a keyset page at a time, or the log
core's verifiable export with seals."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.audit.errors import InvalidBoolean, UnverifiableExport
from app.audit.query.filters import EventFilters, _conditions
from app.audit.query.paging import _keyset
from app.audit.query.parsing import ExportFormat, Order, _clean, parse_export_format, parse_order
from app.audit.query.rows import COLUMNS, EVENTS, _event_dict
from app.audit.serialize import event_line, event_record
from app.audit.verify import export_lines

EXPORT_PAGE_SIZE = 5000


async def high_water_mark(session: AsyncSession) -> int:
    """The last committed ``seq``: an export covers exactly the events up to it."""
    last = await session.scalar(select(func.max(EVENTS.c.seq)))
    return int(last or 0)


async def export_pages(
    sessionmaker: async_sessionmaker[AsyncSession],
    filters: EventFilters,
    *,
    order: Order,
    upto: int,
    page_size: int | None = None,
) -> AsyncIterator[list[dict[str, Any]]]:
    """The filtered events up to ``upto``, a keyset page at a time, each page in its own short
    session, so memory stays at one page however long the log is."""
    page_size = page_size or EXPORT_PAGE_SIZE
    conditions = _conditions(filters)
    after: int | None = None
    while True:
        async with sessionmaker() as session:
            statement = _keyset(select(EVENTS).where(*conditions), order, after, upto)
            result = await session.execute(statement.limit(page_size))
            rows = [_event_dict(row) for row in result.mappings()]
        if not rows:
            return
        yield rows
        if len(rows) < page_size:
            return
        after = rows[-1]["seq"]


async def jsonl_chunks(pages: AsyncIterator[list[dict[str, Any]]]) -> AsyncIterator[bytes]:
    """One line per event, in the log core's serialisation (``serialize.event_line``: the
    canonical JSON of the stored columns plus ``type`` and ``leaf_index``)."""
    async for rows in pages:
        yield b"".join(event_line(row) for row in rows)


def parse_flag(value: str | None, name: str) -> bool:
    value = _clean(value)
    if value is None or value.lower() in ("false", "0", "no"):
        return False
    if value.lower() in ("true", "1", "yes"):
        return True
    raise InvalidBoolean(f"`{name}` must be `true` or `false`.")


@dataclass(frozen=True, slots=True)
class ExportPlan:
    """What one export streams: the format, the order, the snapshot bound, and whether it is
    the log core's verifiable export (with seals) rather than a filtered event list."""

    format: ExportFormat
    order: Order
    with_seals: bool
    upto: int

    @property
    def media_type(self) -> str:
        return "application/x-ndjson" if self.format == "jsonl" else "text/csv; charset=utf-8"

    @property
    def filename(self) -> str:
        prefix = "audit-log-sealed" if self.with_seals else "audit-events"
        return f"{prefix}-upto-{self.upto}.{self.format}"

    def describe(self, filters: EventFilters) -> dict[str, Any]:
        """The export as recorded in its ``audit.query`` event."""
        return {
            "filters": filters.describe(),
            "format": self.format,
            "order": self.order,
            "with_seals": self.with_seals,
            "upto_seq": self.upto,
        }


def plan_export(
    filters: EventFilters,
    *,
    format: str | None,
    order: str | None,
    with_seals: str | None,
    upto: int,
) -> ExportPlan:
    plan = ExportPlan(
        format=parse_export_format(format),
        order=parse_order(order, default="asc"),
        with_seals=parse_flag(with_seals, "with_seals"),
        upto=upto,
    )
    # A verifiable export is the whole log in chain order: no filter, JSONL, oldest first.
    if plan.with_seals and (filters.describe() or plan.format != "jsonl" or plan.order != "asc"):
        raise UnverifiableExport(
            "`with_seals=true` exports the whole log as JSONL, oldest first, so that it can be "
            "verified; it takes no filters, no `format=csv` and no `order=desc`."
        )
    return plan


def export_body(
    sessionmaker: async_sessionmaker[AsyncSession], filters: EventFilters, plan: ExportPlan
) -> AsyncIterator[bytes]:
    if plan.with_seals:
        return sealed_export(sessionmaker)
    pages = export_pages(sessionmaker, filters, order=plan.order, upto=plan.upto)
    return jsonl_chunks(pages) if plan.format == "jsonl" else csv_chunks(pages)


async def sealed_export(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[bytes]:
    """The log core's verifiable export (``verify.export_lines``): a header with the anchor,
    each sealed batch's events followed by its seal, then the unsealed events."""
    async with sessionmaker() as session:
        async for chunk in export_lines(session):
            yield chunk


_CSV_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    text = str(value)
    # A spreadsheet would run a cell such as "=HYPERLINK(...)" sent in X-User-Id; the quote
    # makes it text (OWASP CSV injection). JSONL stays byte-faithful for verification.
    if text.startswith(_CSV_FORMULA_STARTS):
        return "'" + text
    return text


def _csv_row(event: Mapping[str, Any]) -> list[str]:
    record = event_record(event)
    record["leaf_index"] = event["leaf_index"]
    record["fields"] = ";".join(record["fields"])
    record["details"] = (
        orjson.dumps(record["details"], option=orjson.OPT_SORT_KEYS).decode()
        if record["details"]
        else ""
    )
    return [_csv_cell(record[name]) for name in COLUMNS]


def _csv_text(rows: Iterable[Sequence[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode()


async def csv_chunks(pages: AsyncIterator[list[dict[str, Any]]]) -> AsyncIterator[bytes]:
    yield _csv_text([COLUMNS])
    async for rows in pages:
        yield _csv_text(_csv_row(row) for row in rows)
