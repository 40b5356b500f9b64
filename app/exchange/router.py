"""The data path over HTTP: ``GET /v1/records/{record_type}/{subject_id}`` (role consumer)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request

from app.errors import problem_responses, request_id_of
from app.exchange.schemas import PullOut
from app.exchange.service import SUBJECT_PATTERN, PullContext, pull_record
from app.hub import hub_of
from app.openapi import PRINTABLE_HEADER_PATTERN
from app.responses import FastJSONResponse
from app.routing import HubRoute
from app.security.actor import Actor
from app.security.deps import ConsumerClient
from app.security.schemas import PURPOSE_PATTERN

router = APIRouter(prefix="/v1/records", tags=["exchange"], route_class=HubRoute)


def _fields(value: str | None) -> list[str] | None:
    if value is None:
        return None
    names = [name.strip() for name in value.split(",") if name.strip()]
    return list(dict.fromkeys(names)) or None


# The headers are read from the request rather than declared as parameters: FastAPI checks
# every declared parameter's annotation again on each request, which cost this hot route
# more than the rest of its framework work. They are documented here instead, exactly as
# FastAPI would describe them. For the same reason the hub is taken from the app rather than
# through HubDep: one dependency fewer to resolve on every pull.
_HEADERS: list[dict[str, Any]] = [
    {
        "name": name,
        "in": "header",
        "required": required,
        "schema": {"type": "string", "pattern": pattern, "title": name.title()},
        "description": description,
    }
    for name, required, pattern, description in (
        (
            "x-user-id",
            True,
            PRINTABLE_HEADER_PATTERN,
            "The officer: 1 to 200 printable ASCII characters.",
        ),
        ("x-purpose", True, PURPOSE_PATTERN, "The purpose or procedure code (a lower-case slug)."),
        (
            "x-case-id",
            False,
            PRINTABLE_HEADER_PATTERN,
            "The case, if any: 1 to 200 printable ASCII characters.",
        ),
    )
]
# Checked by the service (400 `invalid_subject_id`), documented here.
_SUBJECT_ID = Path(json_schema_extra={"pattern": SUBJECT_PATTERN})


@router.get(
    "/{record_type}/{subject_id}",
    summary="Pull a record about a subject",
    operation_id="pull_record",
    # Documented, not run: the route answers its own FastJSONResponse so that no model
    # validates a large record on the hot path (the body is built to this model's shape).
    response_model=PullOut,
    response_description="The record(s) with provenance.",
    responses=problem_responses(400, 401, 403, 404, 502, 503, 504),
    openapi_extra={"parameters": _HEADERS},
)
async def pull(
    record_type: str,
    subject_id: Annotated[str, _SUBJECT_ID],
    request: Request,
    consumer: ConsumerClient,
    fields: Annotated[
        str | None,
        Query(
            max_length=2000,
            description="Comma-separated field names; all the fields granted if unset.",
        ),
    ] = None,
) -> FastJSONResponse:
    """Checks the access right (record type x fields x purpose), decides the basis, fetches
    from the source's connector, maps and validates against the dictionary, cuts the record
    to the allowed fields and appends the access event before answering. Per-subject `many`
    record types (LandParcel, ...) answer a list.

    Errors: `missing_user_id`, `missing_purpose`, `invalid_header`, `invalid_subject_id`
    (400); `access_denied`, `no_basis` (403); `unknown_record_type`, `unknown_field`,
    `subject_not_found` (404/400); `source_unavailable` (502, with Retry-After when the
    breaker is open), `source_invalid_record` (502), `no_source` and `audit_unavailable`
    (503), `source_timeout` (504)."""
    headers = request.headers
    case_id = headers.get("x-case-id")
    # As sent, unchecked: pull_record refuses a missing or unusable header itself, so that
    # the refusal is audited like any other.
    actor = Actor(
        consumer,
        (headers.get("x-user-id") or "").strip() or None,
        case_id.strip() if case_id else None,
        request_id_of(request),
    )
    ctx = PullContext(actor, (headers.get("x-purpose") or "").strip())
    # No session of the route's own: the pull opens one only if the basis is a consent.
    pulled = await pull_record(hub_of(request.app), ctx, record_type, subject_id, _fields(fields))
    return FastJSONResponse(pulled.as_response())
