"""The hub's one clock and its one UTC type, for the database and for the API.

Every moment the hub writes is UTC. PostgreSQL gives a ``timestamptz`` back with its offset;
SQLite gives back the naive text it stored. :class:`UtcTimestamp` makes both the same aware
UTC value as they leave the database, so no service patches a naive value by hand.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator
from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    """Now, in UTC: the one clock of the hub's own records."""
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """``moment`` with its offset: a naive value is UTC (an aware one is kept as it is)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class UtcTimestamp(TypeDecorator[datetime]):
    """A ``timestamp with time zone`` column whose values always come back aware."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)


UtcDateTime = Annotated[datetime, AfterValidator(as_utc)]
"""A datetime field of a response model: a naive value is UTC."""
