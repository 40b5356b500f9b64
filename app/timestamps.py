"""Timestamps as the API shows them: always with their offset (RFC 3339 ``date-time``).

SQLite hands back the naive datetimes it stored; every one the hub stores is UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator


def as_utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


UtcDateTime = Annotated[datetime, AfterValidator(as_utc)]
"""A datetime field of a response model: a naive value is UTC."""
