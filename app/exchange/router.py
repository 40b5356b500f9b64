"""The data path over HTTP: ``GET /v1/records/{record_type}/{subject_id}`` (role consumer)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request

from app.deps import SessionDep
from app.errors import problem_responses
from app.exchange.schemas import PullOut
from app.exchange.service import PullContext, pull_record
from app.responses import FastJSONResponse
from app.security.deps import ConsumerClient

router = APIRouter(prefix="/v1/records", tags=["exchange"])


def _fields(value: str | None) -> list[str] | None:
    if value is None:
        return None
    names = [name.strip() for name in value.split(",") if name.strip()]
    return list(dict.fromkeys(names)) or None


@router.get(
    "/{record_type}/{subject_id}",
    summary="Pull a record about a subject",
    response_model=None,
    responses={
        200: {"model": PullOut, "description": "The record(s) with provenance."},
        **problem_responses(400, 401, 403, 404, 502, 503, 504),
    },
)
async def pull(
    record_type: str,
    subject_id: str,
    request: Request,
    consumer: ConsumerClient,
    session: SessionDep,
    fields: Annotated[
        str | None,
        Query(
            max_length=2000,
            description="Comma-separated field names; all the fields granted if unset.",
        ),
    ] = None,
    x_user_id: Annotated[str | None, Header(description="The officer (required).")] = None,
    x_purpose: Annotated[
        str | None, Header(description="The purpose or procedure code (required).")
    ] = None,
    x_case_id: Annotated[str | None, Header(description="The case, if any.")] = None,
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
    ctx = PullContext(
        principal=consumer,
        officer_id=(x_user_id or "").strip(),
        purpose=(x_purpose or "").strip(),
        case_id=x_case_id.strip() if x_case_id else None,
        request_id=getattr(request.state, "request_id", None),
    )
    pulled = await pull_record(
        request.app.state, session, ctx, record_type, subject_id, _fields(fields)
    )
    return FastJSONResponse(pulled.as_response())
