"""The auditor API (search, export, statistics) and the citizen's access log.

Every auditor request is itself appended to the log as an ``audit.query`` event before the
answer leaves, recorded from the auditor's :class:`~app.security.actor.Actor` like any other event,
here and on the other auditor routes (proofs, verification).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query
from fastapi.responses import StreamingResponse

from app.audit import query
from app.audit.query import EventFilters
from app.audit.schemas import AccessLogPage, AuditEventPage, AuditStats
from app.deps import SessionDep
from app.errors import problem_responses
from app.events import EventKind
from app.hub import Hub, HubDep
from app.routing import HubRoute
from app.security.actor import Actor, AuditorActor, record
from app.security.deps import CitizenDep

router = APIRouter(prefix="/v1/audit", tags=["audit"], route_class=HubRoute)
citizen_router = APIRouter(prefix="/v1/me", tags=["citizen"], route_class=HubRoute)


async def record_query(hub: Hub, auditor: Actor, action: str, details: dict[str, Any]) -> int:
    """The ``audit.query`` event of one auditor request, durable before the caller answers
    (else ``AuditUnavailable``, 503, and the auditor gets nothing).

    ``action`` names the endpoint (``events``, ``export``, ``stats``, ``proof``, ``verify``);
    ``details`` must hold no clear citizen ID (pass ``EventFilters.describe()`` for filters).
    """
    return await record(
        hub.audit, auditor, EventKind.AUDIT_QUERY, details={"action": action, **details}
    )


def _text(description: str) -> Any:
    return Query(description=description)


def event_filters(
    hub: HubDep,
    subject_id: Annotated[
        str | None,
        _text(
            "Citizen ID. The hub searches by its HMAC and never stores, logs or echoes the ID. "
            "`X-Subject-Id` does the same and keeps the ID out of URLs."
        ),
    ] = None,
    x_subject_id: Annotated[str | None, Header(description="Citizen ID, as `subject_id`.")] = None,
    subject_hmac: Annotated[
        str | None, _text("HMAC of the subject (64 hex), as shown on an event.")
    ] = None,
    client_id: Annotated[str | None, _text("API client id.")] = None,
    agency: Annotated[str | None, _text("Agency name, exactly.")] = None,
    officer_id: Annotated[str | None, _text("Officer (`X-User-Id` of the request).")] = None,
    case_id: Annotated[str | None, _text("Case id (`X-Case-Id`).")] = None,
    record_type: Annotated[str | None, _text("Record type, e.g. `Person`.")] = None,
    purpose: Annotated[str | None, _text("Purpose or procedure code (matches either).")] = None,
    procedure: Annotated[str | None, _text("Procedure code only.")] = None,
    filing_id: Annotated[str | None, _text("Filing id.")] = None,
    outcome: Annotated[str | None, _text("`allowed`, `denied`, `error` or `ok`.")] = None,
    error_code: Annotated[str | None, _text("e.g. `no_basis`, `access_denied`.")] = None,
    kind: Annotated[str | None, _text("Event kind, e.g. `data.pull`.")] = None,
    request_id: Annotated[str | None, _text("The `X-Request-Id` of the logged request.")] = None,
    since: Annotated[
        str | None, _text("ISO 8601 date or datetime, inclusive; naive means UTC.")
    ] = None,
    until: Annotated[str | None, _text("ISO 8601 date or datetime, exclusive.")] = None,
) -> EventFilters:
    return query.parse_filters(
        subject_hmac_of=hub.audit.subject_hmac,
        record_types=hub.dictionary.record_types,
        subject_id=subject_id or x_subject_id,
        subject_hmac=subject_hmac,
        since=since,
        until=until,
        client_id=client_id,
        agency=agency,
        officer_id=officer_id,
        case_id=case_id,
        record_type=record_type,
        purpose=purpose,
        procedure=procedure,
        filing_id=filing_id,
        outcome=outcome,
        error_code=error_code,
        kind=kind,
        request_id=request_id,
    )


FiltersDep = Annotated[EventFilters, Depends(event_filters)]
OrderQuery = Annotated[str | None, _text("`desc` (newest first, the default) or `asc`.")]
LimitQuery = Annotated[str | None, _text("Page size, 1 to 1000; default 100.")]
CursorQuery = Annotated[str | None, _text("`next_cursor` of the previous page.")]


@router.get(
    "/events",
    summary="Search the access log",
    responses=problem_responses(400, 401, 403, 503),
)
async def search_events(
    auditor: AuditorActor,
    hub: HubDep,
    session: SessionDep,
    filters: FiltersDep,
    order: OrderQuery = None,
    limit: LimitQuery = None,
    cursor: CursorQuery = None,
) -> AuditEventPage:
    """Events matching every given filter, newest first unless `order=asc`, a page at a time.
    Follow `next_cursor` to page on; the pages stay exact while events are appended. The
    subject shows as its HMAC and masked hint, never in clear. The search itself is logged
    as an `audit.query` event.

    Refusals (400): `invalid_datetime`, `invalid_time_range`, `invalid_limit`, `invalid_order`,
    `invalid_cursor` (malformed, or issued for other filters or order), `invalid_subject_hmac`,
    `conflicting_subject_filters`."""
    page = query.parse_page(
        scope="events",
        filters=filters,
        order=order,
        limit=limit,
        cursor=cursor,
        codec=hub.audit.cursors,
    )
    result = await query.search_events(session, filters, page)
    await record_query(
        hub,
        auditor,
        "events",
        {
            "filters": filters.describe(),
            "order": page.order,
            "limit": page.limit,
            "after_seq": page.after,
            "returned": len(result.items),
        },
    )
    return result


_EXPORT_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "JSONL: one line per event in the log core's serialisation (canonical "
        "JSON of the stored columns, keys sorted, `ts` as `YYYY-MM-DDTHH:MM:SS.ffffffZ`, plus "
        "`type` and `leaf_index`; docs/audit.md). CSV: a header row, then one row per event; "
        "`fields` joined with `;`, `details` as JSON, and a cell that a spreadsheet would run "
        "as a formula prefixed with `'`. `X-Audit-Export-Upto` is the last sequence number "
        "the export covers.",
        "content": {
            "application/x-ndjson": {"schema": {"type": "string"}},
            "text/csv": {"schema": {"type": "string"}},
        },
    },
    **problem_responses(400, 401, 403, 503),
}


@router.get(
    "/export",
    summary="Export the access log (JSONL or CSV)",
    response_class=StreamingResponse,
    responses=_EXPORT_RESPONSE,
)
async def export_events(
    auditor: AuditorActor,
    hub: HubDep,
    session: SessionDep,
    filters: FiltersDep,
    format: Annotated[str | None, _text("`jsonl` (default) or `csv`.")] = None,
    order: Annotated[str | None, _text("`asc` (oldest first, the default) or `desc`.")] = None,
    with_seals: Annotated[
        str | None,
        _text(
            "`true`: the whole log with its seals (header, each batch's events then its "
            "seal, then the unsealed events), which `declare-once audit verify --file` "
            "checks. Takes no filters."
        ),
    ] = None,
) -> StreamingResponse:
    """Stream every event matching the filters, oldest first, read from the database 5,000 at
    a time so that memory stays flat at any size. The export is a snapshot: it covers the
    events up to the last sequence number committed when it started. The export itself is
    logged as an `audit.query` event.

    Refusals (400): `unknown_export_format`, `invalid_order`, `invalid_boolean`,
    `unverifiable_export` (`with_seals` with filters, CSV or `order=desc`), and the filter
    codes of the search."""
    plan = query.plan_export(
        filters,
        format=format,
        order=order,
        with_seals=with_seals,
        upto=await query.high_water_mark(session),
    )
    await session.close()  # the stream reads in short sessions of its own
    await record_query(hub, auditor, "export", plan.describe(filters))
    return StreamingResponse(
        query.export_body(hub.sessionmaker, filters, plan),
        media_type=plan.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{plan.filename}"',
            "X-Audit-Export-Upto": str(plan.upto),
        },
    )


@router.get(
    "/stats",
    summary="Access-log statistics",
    responses=problem_responses(400, 401, 403, 503),
)
async def event_stats(
    auditor: AuditorActor, hub: HubDep, session: SessionDep, filters: FiltersDep
) -> AuditStats:
    """Counts of the events in `[since, until)` (and any other filter): by client with its
    agency, by record type, outcome, kind and UTC day, and the denials by error code and by
    client. The query itself is logged as an `audit.query` event."""
    stats = await query.event_stats(session, filters)
    await record_query(hub, auditor, "stats", {"filters": filters.describe()})
    return stats


@citizen_router.get(
    "/access-log",
    summary="Who used my data",
    responses=problem_responses(400, 401, 403),
)
async def my_access_log(
    citizen: CitizenDep,
    hub: HubDep,
    session: SessionDep,
    order: OrderQuery = None,
    limit: LimitQuery = None,
    cursor: CursorQuery = None,
) -> AccessLogPage:
    """Every use of your data that the hub logged, newest first (`order=asc` for oldest
    first): which agency, when, which record types and fields, why (purpose, procedure, and
    the legal basis or your consent) and the outcome, refusals included. It lists each event
    that names you (record pulls, filing prefills, and changes to your consents and filings);
    administrative and auditor events are not uses of your data and are left out. Only your
    own entries are shown, and a page's `next_cursor` works only for you.

    The officer who made each request is not shown, neither in clear nor masked: the agency
    answers to you for its staff, and the officer's identity stays with the auditors, who can
    see it. Send your eID token; an API key is refused (403 `wrong_principal`), no token is
    401. Refusals (400): `invalid_limit`, `invalid_order`, `invalid_cursor`."""
    subject = hub.audit.subject_hmac(citizen.citizen_id)
    page = query.citizen_page(
        subject, order=order, limit=limit, cursor=cursor, codec=hub.audit.cursors
    )
    return await query.citizen_access_log(session, subject, page)
