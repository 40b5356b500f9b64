"""Parsing the raw query strings an auditor sends: dates, limits, order, export format."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Literal

from app.audit.errors import InvalidDatetime, InvalidLimit, InvalidOrder, UnknownExportFormat
from app.timestamps import as_utc

Order = Literal["asc", "desc"]
ExportFormat = Literal["jsonl", "csv"]

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


def parse_datetime(value: str | None, name: str) -> datetime | None:
    """An ISO 8601 date or datetime; a naive one is read as UTC. Always returned in UTC."""
    value = _clean(value)
    if value is None:
        return None
    try:
        if len(value) == 10:
            parsed = datetime.combine(date.fromisoformat(value), time.min)
        else:
            parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidDatetime(
            f"`{name}` is not an ISO 8601 date or datetime (e.g. 2026-11-25 or "
            "2026-11-25T08:00:00Z; write an offset's `+` as %2B in a URL).",
            extra={"parameter": name},
        ) from None
    return as_utc(parsed).astimezone(UTC)


def parse_limit(value: str | None) -> int:
    value = _clean(value)
    if value is None:
        return DEFAULT_LIMIT
    if not value.isdigit() or not 1 <= int(value) <= MAX_LIMIT:
        raise InvalidLimit(f"`limit` must be a whole number from 1 to {MAX_LIMIT}.")
    return int(value)


def parse_order(value: str | None, default: Order = "desc") -> Order:
    value = _clean(value)
    if value is None:
        return default
    if value == "asc":
        return "asc"
    if value == "desc":
        return "desc"
    raise InvalidOrder("`order` must be `asc` or `desc`.")


def parse_export_format(value: str | None) -> ExportFormat:
    value = _clean(value)
    if value is None or value == "jsonl":
        return "jsonl"
    if value == "csv":
        return "csv"
    raise UnknownExportFormat("`format` must be `jsonl` or `csv`.")
