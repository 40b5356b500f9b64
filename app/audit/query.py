"""Reading the access log: filters, keyset pagination, streaming export, statistics, and the
citizen's own view. No FastAPI here; the router hands over raw query strings and this module
parses them, so every refusal has one stable code wherever the parameter appears.

Pagination is a keyset on ``seq``. A cursor carries the last ``seq`` served, signed (the one
codec of ``app.cursors``) for the scope, the order and the filters of its query; the next page
asks for ``seq < last`` (newest first, the default) or ``seq > last`` (oldest first). Events
appended between two pages therefore never shift a page: newest first they sit before the
first page, oldest first they arrive at the end. No event is served twice or skipped.

One limit, by design of the ids: they come from the database at insert, so on PostgreSQL with
several instances an event's transaction can commit a few milliseconds after one with a
higher id. Newest first, such an event is simply newer than the walk (as if appended after
the first page). Oldest first, a reader paging at the very head of the log could pass it; a
complete oldest-first sweep therefore sets ``until`` to a settled time (a few seconds ago), or
uses the export with seals, whose chain order is the sealer's.

The subject is searched by its keyed HMAC. A citizen ID given to a search is turned into its
HMAC at once and is never stored, echoed or logged.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import AsyncIterator, Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any, Literal

import orjson
from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.audit.events import AuditEntry, AuditSink, EventKind, Outcome
from app.audit.models import AuditEvent
from app.audit.schemas import (
    AccessLogEntry,
    AccessLogPage,
    AuditEventOut,
    AuditEventPage,
    AuditStats,
    ClientCount,
    DayCount,
    DenialStats,
    ErrorCodeCount,
    KindCount,
    OutcomeCount,
    RecordTypeCount,
)
from app.audit.serialize import EVENT_COLUMNS, event_line, event_record
from app.audit.verify import export_lines
from app.cursors import CursorCodec
from app.errors import BadRequest
from app.security.roles import ClientPrincipal

Order = Literal["asc", "desc"]
ExportFormat = Literal["jsonl", "csv"]

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
EXPORT_PAGE_SIZE = 5000

# Kinds a citizen never sees in their access log: they name no subject's data being used.
CITIZEN_HIDDEN_KIND_PREFIXES = ("admin.", "audit.")

EVENTS = AuditEvent.__table__
# An event's columns as the log core serialises them, then its position in the sealed chain.
COLUMNS: tuple[str, ...] = (*EVENT_COLUMNS, "leaf_index")

# --------------------------------------------------------------------------- parsing


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
        raise BadRequest(
            f"`{name}` is not an ISO 8601 date or datetime (e.g. 2026-11-25 or "
            "2026-11-25T08:00:00Z; write an offset's `+` as %2B in a URL).",
            code="invalid_datetime",
            extra={"parameter": name},
        ) from None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def parse_limit(value: str | None) -> int:
    value = _clean(value)
    if value is None:
        return DEFAULT_LIMIT
    if not value.isdigit() or not 1 <= int(value) <= MAX_LIMIT:
        raise BadRequest(
            f"`limit` must be a whole number from 1 to {MAX_LIMIT}.", code="invalid_limit"
        )
    return int(value)


def parse_order(value: str | None, default: Order = "desc") -> Order:
    value = _clean(value)
    if value is None:
        return default
    if value == "asc":
        return "asc"
    if value == "desc":
        return "desc"
    raise BadRequest("`order` must be `asc` or `desc`.", code="invalid_order")


def parse_export_format(value: str | None) -> ExportFormat:
    value = _clean(value)
    if value is None or value == "jsonl":
        return "jsonl"
    if value == "csv":
        return "csv"
    raise BadRequest("`format` must be `jsonl` or `csv`.", code="unknown_export_format")


# --------------------------------------------------------------------------- filters


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
            raise BadRequest(
                "`subject_hmac` must be 64 hexadecimal characters.", code="invalid_subject_hmac"
            )
    if clear_id is not None:
        computed = subject_hmac_of(clear_id)
        if hmac_filter is not None and hmac_filter != computed:
            raise BadRequest(
                "`subject_id` and `subject_hmac` name different subjects.",
                code="conflicting_subject_filters",
            )
        hmac_filter = computed
    start = parse_datetime(since, "since")
    end = parse_datetime(until, "until")
    if start is not None and end is not None and start >= end:
        raise BadRequest("`since` must be before `until`.", code="invalid_time_range")
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


# --------------------------------------------------------------------------- cursors


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


# --------------------------------------------------------------------------- rows


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _event_dict(row: Mapping[str, Any]) -> dict[str, Any]:
    out = {name: row[name] for name in COLUMNS}
    out["ts"] = _utc(out["ts"])
    out["fields"] = list(out["fields"] or [])
    out["details"] = dict(out["details"] or {})
    return out


# --------------------------------------------------------------------------- searching


async def search_events(
    session: AsyncSession, filters: EventFilters, page: PageRequest
) -> AuditEventPage:
    rows, next_cursor = await _fetch_page(session, _conditions(filters), page)
    return AuditEventPage(items=[AuditEventOut(**row) for row in rows], next_cursor=next_cursor)


def _split_basis(basis: str | None) -> tuple[str | None, str | None]:
    """(legal citation, consent id) from the stored ``legal:...`` / ``consent:...`` form."""
    if basis is None:
        return None, None
    kind, _, reference = basis.partition(":")
    if kind == "consent" and reference:
        return None, reference
    if kind == "legal" and reference:
        return reference, None
    return basis, None


def _access_entry(row: Mapping[str, Any]) -> AccessLogEntry:
    legal_basis, consent_id = _split_basis(row["basis"])
    return AccessLogEntry(
        event_id=row["seq"],
        at=row["ts"],
        kind=row["kind"],
        agency=row["agency"],
        record_type=row["record_type"],
        fields=row["fields"],
        purpose=row["purpose"],
        procedure=row["procedure"],
        filing_id=row["filing_id"],
        legal_basis=legal_basis,
        consent_id=consent_id,
        outcome=row["outcome"],
        error_code=row["error_code"],
    )


def citizen_page(
    subject_hmac: str,
    *,
    order: str | None,
    limit: str | None,
    cursor: str | None,
    codec: CursorCodec,
) -> PageRequest:
    # The fingerprint binds the cursor to this citizen, so a cursor is useless to another.
    return parse_page(
        scope=f"citizen:{subject_hmac}",
        filters=None,
        order=order,
        limit=limit,
        cursor=cursor,
        codec=codec,
    )


async def citizen_access_log(
    session: AsyncSession, subject_hmac: str, page: PageRequest
) -> AccessLogPage:
    """Every event that names this citizen as subject, except administrative and auditor
    events. Officer ids are left out by design (see :class:`AccessLogEntry`)."""
    rows, next_cursor = await _fetch_page(session, _citizen_conditions(subject_hmac), page)
    return AccessLogPage(items=[_access_entry(row) for row in rows], next_cursor=next_cursor)


# --------------------------------------------------------------------------- export


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
    raise BadRequest(f"`{name}` must be `true` or `false`.", code="invalid_boolean")


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
        raise BadRequest(
            "`with_seals=true` exports the whole log as JSONL, oldest first, so that it can be "
            "verified; it takes no filters, no `format=csv` and no `order=desc`.",
            code="unverifiable_export",
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


# --------------------------------------------------------------------------- statistics


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


# --------------------------------------------------------------------------- auditing auditors


async def record_auditor_query(
    audit: AuditSink,
    auditor: ClientPrincipal,
    action: str,
    details: Mapping[str, Any],
    *,
    officer_id: str | None = None,
    case_id: str | None = None,
    request_id: str | None = None,
) -> int:
    """Append the ``audit.query`` event for one auditor request; it is durable before the
    caller answers, or this raises ``AuditUnavailable`` and the auditor gets nothing.
    ``details`` must be free of clear citizen IDs (filters go in as
    :meth:`EventFilters.describe`, which holds the subject only as its HMAC)."""
    return await audit.append(
        AuditEntry(
            kind=EventKind.AUDIT_QUERY,
            outcome=Outcome.OK,
            client_id=auditor.client_id,
            agency=auditor.agency,
            officer_id=officer_id,
            case_id=case_id,
            request_id=request_id,
            details={"action": action, **details},
        )
    )
