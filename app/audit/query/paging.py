"""Keyset pagination on ``seq``: signed cursors bound to their scope, order and filters, and
one page fetched (see the package's docstring for why no event is served twice or skipped)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.query.filters import EventFilters
from app.audit.query.parsing import Order, _clean, parse_limit, parse_order
from app.audit.query.rows import EVENTS, _event_dict
from app.cursors import CursorCodec


def _fingerprint(scope: str, order: Order, filters: EventFilters | None) -> str:
    """What a cursor is signed for: the route or citizen, the order and the filters."""
    described = filters.describe() if filters is not None else {}
    material = orjson.dumps([scope, order, described], option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(material).hexdigest()


def decode_cursor(codec: CursorCodec, cursor: str | None, fingerprint: str) -> int | None:
    """The ``seq`` a cursor continues after, or None for the first page."""
    cursor = _clean(cursor)
    if cursor is None:
        return None
    return codec.decode(fingerprint, cursor, ("s",))["s"]


@dataclass(frozen=True, slots=True)
class PageRequest:
    order: Order
    limit: int
    after: int | None
    fingerprint: str
    codec: CursorCodec

    def next_cursor(self, last_seq: int) -> str:
        return self.codec.encode(self.fingerprint, {"s": last_seq})


def parse_page(
    *,
    scope: str,
    filters: EventFilters | None,
    order: str | None,
    limit: str | None,
    cursor: str | None,
    codec: CursorCodec,
) -> PageRequest:
    chosen = parse_order(order)
    size = parse_limit(limit)
    fingerprint = _fingerprint(scope, chosen, filters)
    return PageRequest(chosen, size, decode_cursor(codec, cursor, fingerprint), fingerprint, codec)


def _keyset(
    statement: Select[Any], order: Order, after: int | None, upto: int | None = None
) -> Select[Any]:
    seq = EVENTS.c.seq
    if after is not None:
        statement = statement.where(seq > after if order == "asc" else seq < after)
    if upto is not None:
        statement = statement.where(seq <= upto)
    return statement.order_by(seq.asc() if order == "asc" else seq.desc())


async def _fetch_page(
    session: AsyncSession,
    conditions: Sequence[ColumnElement[bool]],
    page: PageRequest,
) -> tuple[list[dict[str, Any]], str | None]:
    statement = _keyset(select(EVENTS).where(*conditions), page.order, page.after)
    result = await session.execute(statement.limit(page.limit + 1))
    rows = [_event_dict(row) for row in result.mappings()]
    if len(rows) <= page.limit:
        return rows, None
    rows = rows[: page.limit]
    return rows, page.next_cursor(rows[-1]["seq"])
