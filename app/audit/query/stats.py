"""Statistics over the filtered events: counts by client, record type, outcome, kind, day,
and the denials."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.query.filters import EventFilters, _conditions
from app.audit.query.rows import EVENTS
from app.audit.schemas import (
    AuditStats,
    ClientCount,
    DayCount,
    DenialStats,
    ErrorCodeCount,
    KindCount,
    OutcomeCount,
    RecordTypeCount,
)
from app.events import Outcome


def _day_expression(session: AsyncSession) -> ColumnElement[Any]:
    if session.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone("UTC", EVENTS.c.ts))
    return func.substr(EVENTS.c.ts, 1, 10)  # SQLite stores "YYYY-MM-DD HH:MM:SS..." in UTC


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


async def event_stats(session: AsyncSession, filters: EventFilters) -> AuditStats:
    """Counts over the filtered events: by client (with agency), record type, outcome, kind
    and UTC day, and the denials (outcome ``denied``) by error code and by client."""
    c = EVENTS.c
    conditions = _conditions(filters)
    denied = c.outcome == Outcome.DENIED

    async def grouped(*keys: Any, extra: ColumnElement[bool] | None = None) -> list[Any]:
        statement = select(*keys, func.count()).where(*conditions).group_by(*keys)
        if extra is not None:
            statement = statement.where(extra)
        return list((await session.execute(statement.order_by(func.count().desc()))).all())

    total = await session.scalar(select(func.count()).select_from(EVENTS).where(*conditions))
    day = _day_expression(session).label("day")
    by_day = sorted((_as_date(d), n) for d, n in await grouped(day) if d is not None)
    denial_clients = await grouped(c.client_id, c.agency, extra=denied)
    return AuditStats(
        since=filters.since,
        until=filters.until,
        total=int(total or 0),
        by_client=[
            ClientCount(client_id=cid, agency=agency, count=n)
            for cid, agency, n in await grouped(c.client_id, c.agency)
        ],
        by_record_type=[
            RecordTypeCount(record_type=rt, count=n)
            for rt, n in await grouped(c.record_type, extra=c.record_type.is_not(None))
        ],
        by_outcome=[OutcomeCount(outcome=o, count=n) for o, n in await grouped(c.outcome)],
        by_kind=[KindCount(kind=k, count=n) for k, n in await grouped(c.kind)],
        by_day=[DayCount(day=d, count=n) for d, n in by_day],
        denials=DenialStats(
            total=sum(n for *_, n in denial_clients),
            by_error_code=[
                ErrorCodeCount(error_code=code, count=n)
                for code, n in await grouped(c.error_code, extra=denied)
            ],
            by_client=[
                ClientCount(client_id=cid, agency=agency, count=n)
                for cid, agency, n in denial_clients
            ],
        ),
    )
