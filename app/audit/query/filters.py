"""What an auditor narrows the log to (``EventFilters``), parsed from raw query strings, and
the SQL conditions they make (and the citizen's own view's)."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, or_

from app.audit.errors import ConflictingSubjectFilters, InvalidSubjectHmac, InvalidTimeRange
from app.audit.query.parsing import _clean, parse_datetime
from app.audit.query.rows import EVENTS
from app.events import Outcome

# Kinds a citizen never sees in their access log: they name no subject's data being used.
CITIZEN_HIDDEN_KIND_PREFIXES = ("admin.", "audit.")


@dataclass(frozen=True, slots=True)
class EventFilters:
    """What an auditor narrows the log to. Every filter is an exact match; they combine with
    AND. ``purpose`` matches the purpose or the procedure code; ``since`` is inclusive and
    ``until`` exclusive."""

    subject_hmac: str | None = None
    client_id: str | None = None
    agency: str | None = None
    officer_id: str | None = None
    case_id: str | None = None
    record_type: str | None = None
    purpose: str | None = None
    procedure: str | None = None
    filing_id: str | None = None
    outcome: str | None = None
    error_code: str | None = None
    kind: str | None = None
    request_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    # How the filters are recorded, not what they match: the keyed hash for values that are
    # not names the hub defines, and the dictionary's record types.
    hmac_of: Callable[[str], str] | None = field(default=None, compare=False, repr=False)
    record_types: Collection[str] = field(default=(), compare=False, repr=False)

    def describe(self) -> dict[str, Any]:
        """The filters as recorded in an ``audit.query`` event (and as a cursor is bound to).

        The log is sealed forever, and a filter may hold a citizen ID typed in the wrong box.
        So only names the hub defines are kept in clear: the subject as its HMAC, a record
        type of the dictionary, an outcome, an event kind or error code, a client, filing or
        request id of the hub's own form, the time bounds. Any other value (agency, officer,
        case, purpose, procedure, or a value of the wrong form) is kept as ``hmac:<hex>``,
        the subject key's HMAC of it, which matches the same value searched again."""
        out: dict[str, Any] = {}
        for name in FILTER_NAMES:
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, datetime):
                out[name] = value.isoformat()
            elif name == "subject_hmac" or self._is_defined_name(name, value):
                out[name] = value
            elif self.hmac_of is not None:
                out[name] = "hmac:" + self.hmac_of(value)
            else:
                out[name] = "withheld"
        return out

    def _is_defined_name(self, name: str, value: str) -> bool:
        if name == "record_type":
            return value in self.record_types
        if name == "outcome":
            return value in _OUTCOMES
        shape = _DEFINED_SHAPES.get(name)
        return shape is not None and shape.fullmatch(value) is not None


_OUTCOMES = frozenset(
    value for name, value in vars(Outcome).items() if name.isupper() and isinstance(value, str)
)
# Names the hub defines have these forms; none of them can hold a citizen ID (digits only).
_DEFINED_SHAPES = {
    "kind": re.compile(r"[a-z_]{1,30}(\.[a-z_]{1,40}){0,3}"),
    "error_code": re.compile(r"[a-z_]{1,40}(\.[a-z_]{1,40})?"),
    "client_id": re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"),
    "filing_id": re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"),
    "request_id": re.compile(r"[0-9a-f]{32}"),
}
FILTER_NAMES: tuple[str, ...] = (
    "subject_hmac",
    "client_id",
    "agency",
    "officer_id",
    "case_id",
    "record_type",
    "purpose",
    "procedure",
    "filing_id",
    "outcome",
    "error_code",
    "kind",
    "request_id",
    "since",
    "until",
)


def parse_filters(
    *,
    subject_hmac_of: Callable[[str], str],
    subject_id: str | None = None,
    subject_hmac: str | None = None,
    since: str | None = None,
    until: str | None = None,
    record_types: Collection[str] = (),
    **exact: str | None,
) -> EventFilters:
    """Build filters from raw query strings. ``subject_id`` becomes its HMAC here and goes no
    further; ``exact`` holds the other exact-match filters by their field name;
    ``record_types`` are the dictionary's, kept in clear when the filters are recorded."""
    unknown = set(exact) - set(FILTER_NAMES)
    if unknown:
        raise TypeError(f"unknown filters: {sorted(unknown)}")
    clear_id = _clean(subject_id)
    hmac_filter = _clean(subject_hmac)
    if hmac_filter is not None:
        hmac_filter = hmac_filter.lower()
        if len(hmac_filter) != 64 or any(c not in "0123456789abcdef" for c in hmac_filter):
            raise InvalidSubjectHmac("`subject_hmac` must be 64 hexadecimal characters.")
    if clear_id is not None:
        computed = subject_hmac_of(clear_id)
        if hmac_filter is not None and hmac_filter != computed:
            raise ConflictingSubjectFilters(
                "`subject_id` and `subject_hmac` name different subjects."
            )
        hmac_filter = computed
    start = parse_datetime(since, "since")
    end = parse_datetime(until, "until")
    if start is not None and end is not None and start >= end:
        raise InvalidTimeRange("`since` must be before `until`.")
    return EventFilters(
        subject_hmac=hmac_filter,
        since=start,
        until=end,
        hmac_of=subject_hmac_of,
        record_types=record_types,
        **{name: _clean(value) for name, value in exact.items()},
    )


def _conditions(filters: EventFilters) -> list[ColumnElement[bool]]:
    c = EVENTS.c
    out: list[ColumnElement[bool]] = []
    for name in (
        "subject_hmac",
        "client_id",
        "agency",
        "officer_id",
        "case_id",
        "record_type",
        "procedure",
        "filing_id",
        "outcome",
        "error_code",
        "kind",
        "request_id",
    ):
        value = getattr(filters, name)
        if value is not None:
            out.append(c[name] == value)
    if filters.purpose is not None:
        out.append(or_(c.purpose == filters.purpose, c.procedure == filters.purpose))
    # SQLite keeps timestamps as naive UTC text, so the bounds are bound as naive UTC too.
    if filters.since is not None:
        out.append(c.ts >= filters.since)
    if filters.until is not None:
        out.append(c.ts < filters.until)
    return out


def _citizen_conditions(subject_hmac: str) -> list[ColumnElement[bool]]:
    c = EVENTS.c
    return [c.subject_hmac == subject_hmac] + [
        ~c.kind.startswith(prefix, autoescape=True) for prefix in CITIZEN_HIDDEN_KIND_PREFIXES
    ]
