"""Filings over HTTP: the declare-once flow for an agency's counter or portal (consumer)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Request

from app.audit.serialize import request_hash
from app.deps import DictionaryDep, SessionDep
from app.errors import problem_responses, request_id_of
from app.filings import flows, service
from app.filings.schemas import (
    CorrectionCreate,
    CorrectionOut,
    CorrectionUpdate,
    FilingDecision,
    FilingOpen,
    FilingOut,
    FilingPatch,
    FilingSubmit,
)
from app.filings.stats import count_submission
from app.headers import InvalidHeader, MissingUserId, is_header_value
from app.openapi import PRINTABLE_HEADER_PATTERN, required_in_docs
from app.routing import HubRoute
from app.security.deps import ConsumerClient

router = APIRouter(prefix="/v1/filings", tags=["filings"], route_class=HubRoute)


async def get_actor(
    request: Request,
    principal: ConsumerClient,
    x_user_id: Annotated[
        str | None,
        Header(
            description="The officer at the counter (required).",
            json_schema_extra=required_in_docs(pattern=PRINTABLE_HEADER_PATTERN),
        ),
    ] = None,
    x_case_id: Annotated[
        str | None,
        Header(
            description="The agency's case number.",
            json_schema_extra={"pattern": PRINTABLE_HEADER_PATTERN},
        ),
    ] = None,
) -> flows.Actor:
    if not x_user_id:
        raise MissingUserId("Send X-User-Id: the officer on whose behalf the filing is handled.")
    if not is_header_value(x_user_id) or (x_case_id is not None and not is_header_value(x_case_id)):
        raise InvalidHeader("X-User-Id and X-Case-Id must be 1 to 200 printable ASCII characters.")
    return flows.Actor(principal, x_user_id, x_case_id, request_id_of(request))


ActorDep = Annotated[flows.Actor, Depends(get_actor)]


async def _view(session: SessionDep, dictionary: DictionaryDep, filing: Any) -> dict[str, Any]:
    procedure = service.procedure_of(dictionary, filing.procedure)
    return await flows.filing_view(session, procedure, filing)


@router.post(
    "",
    status_code=201,
    summary="Open a filing and get its plan",
    response_model=FilingOut,
    responses=problem_responses(400, 401, 403, 404, 422),
)
async def open_filing(
    body: FilingOpen,
    request: Request,
    actor: ActorDep,
    session: SessionDep,
    dictionary: DictionaryDep,
) -> dict[str, Any]:
    """Opens a `draft` filing of `procedure` for `applicant_id` (on behalf of `on_behalf_of`,
    a child for example). The `plan` says per component: `pull_legal_basis`,
    `pull_with_consent` (with the consent `present` or `missing`), or `applicant_supplies`.
    Errors: `unknown_procedure` (404), `invalid_citizen_id` (422), `missing_user_id` (400),
    `procedure_not_granted` (403) when the client holds no procedure grant for it; every
    other route of a filing answers the same once the grant is removed."""
    procedure = service.procedure_of(dictionary, body.procedure)
    filing = await service.open_filing(
        session,
        procedure,
        principal=actor.principal,
        officer_id=actor.officer_id,
        case_id=actor.case_id,
        applicant_id=body.applicant_id,
        on_behalf_of=body.on_behalf_of,
    )
    await flows.record_change(request.app.state, actor, filing, "opened")
    return await flows.filing_view(session, procedure, filing)


@router.get(
    "/{filing_id}",
    summary="Preview a filing",
    response_model=FilingOut,
    responses=problem_responses(400, 401, 403, 404),
)
async def get_filing(
    filing_id: str, actor: ActorDep, session: SessionDep, dictionary: DictionaryDep
) -> dict[str, Any]:
    """The filing with its plan, dossier, per-field provenance, locked fields, declare-once
    counts, correction requests and, once approved, its result record. Only the client that
    opened it sees it: `filing_not_found` (404) for anyone else."""
    filing = await service.get_filing(session, filing_id, actor.principal.client_id)
    return await _view(session, dictionary, filing)


@router.post(
    "/{filing_id}/prefill",
    summary="Pre-fill the dossier from state data",
    response_model=FilingOut,
    responses=problem_responses(400, 401, 403, 404, 409),
)
async def prefill_filing(
    filing_id: str,
    request: Request,
    actor: ActorDep,
    session: SessionDep,
    dictionary: DictionaryDep,
) -> dict[str, Any]:
    """Pulls every pullable component concurrently (or reuses an earlier filing's approved
    result) and fills the dossier, each value with its provenance: source system, source
    reference, `retrieved_at`, `last_updated`, `verified`, and the basis used. A component
    whose source fails is marked with its error code (`source_unavailable`,
    `subject_not_found`, `no_basis`, `consent_revoked` ...) and left to the applicant.
    May run again while the filing is `prefilled`; `illegal_filing_transition` (409) after."""
    filing = await flows.prefill(request.app.state, actor, filing_id)
    return await _view(session, dictionary, filing)


@router.patch(
    "/{filing_id}",
    summary="Fill applicant-supplied fields",
    response_model=FilingOut,
    responses=problem_responses(400, 401, 403, 404, 409, 422),
)
async def patch_filing(
    filing_id: str,
    body: FilingPatch,
    request: Request,
    actor: ActorDep,
    session: SessionDep,
    dictionary: DictionaryDep,
) -> dict[str, Any]:
    """Sets fields of the dossier, checked against their dictionary elements. Errors carry a
    JSON Pointer `path` and a `code` each: `validation_failed` (422; `unknown_component`,
    `unknown_field`, `format.citizen_id`, `code_not_in_list` ...), `field_verified_locked`
    (409) for a pre-filled, verified value, `illegal_filing_transition` (409) once submitted."""
    filing = await service.get_filing(session, filing_id, actor.principal.client_id)
    procedure = service.procedure_of(dictionary, filing.procedure)
    changed = service.apply_changes(dictionary, procedure, filing, body.dossier)
    await session.commit()
    await flows.record_change(request.app.state, actor, filing, "fields_set", fields=changed)
    return await flows.filing_view(session, procedure, filing)


@router.post(
    "/{filing_id}/submit",
    summary="Submit the confirmed dossier",
    response_model=FilingOut,
    responses=problem_responses(400, 401, 403, 404, 409, 422),
)
async def submit_filing(
    filing_id: str,
    request: Request,
    actor: ActorDep,
    session: SessionDep,
    dictionary: DictionaryDep,
    body: Annotated[FilingSubmit | None, Body()] = None,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None,
) -> dict[str, Any]:
    """Validates the whole dossier against the procedure's schema and submits it. Needs
    `{"confirm": true}` (`confirmation_required`, 422). `dossier_invalid` (422) lists every
    problem. Idempotent: a repeat with the same `Idempotency-Key` and body, or without a key,
    returns the submitted filing; the same key with another body is `idempotency_key_reused`
    (422)."""
    submitted = body or FilingSubmit()
    filing = await service.get_filing(session, filing_id, actor.principal.client_id)
    filing, changed = await service.submit(
        session,
        dictionary,
        filing,
        confirm=submitted.confirm,
        idempotency_key=idempotency_key,
        request_hash=request_hash(submitted.model_dump()),
    )
    if changed:
        procedure = service.procedure_of(dictionary, filing.procedure)
        count_submission(request.app.state.metrics, procedure, filing)
        await flows.record_change(request.app.state, actor, filing, "submitted")
    return await _view(session, dictionary, filing)


@router.post(
    "/{filing_id}/decision",
    summary="Decide a submitted filing",
    response_model=FilingOut,
    responses=problem_responses(400, 401, 403, 404, 409, 422),
)
async def decide_filing(
    filing_id: str,
    body: FilingDecision,
    request: Request,
    actor: ActorDep,
    session: SessionDep,
    dictionary: DictionaryDep,
) -> dict[str, Any]:
    """The processing agency's decision. An approval stores the procedure's result record
    (built from the dossier and `result`, validated against its record type: `result_invalid`,
    422) as state data that later filings reuse. `illegal_filing_transition` (409) unless the
    filing is `submitted`."""
    filing = await service.get_filing(session, filing_id, actor.principal.client_id)
    stored = await service.decide(
        session,
        dictionary,
        filing,
        decision=body.decision,
        reason=body.reason,
        result=body.result,
    )
    details = {"result_record_type": stored.record_type} if stored is not None else {}
    await flows.record_change(request.app.state, actor, filing, body.decision, details=details)
    return await _view(session, dictionary, filing)


@router.post(
    "/{filing_id}/corrections",
    status_code=201,
    summary="Dispute a pre-filled value",
    response_model=CorrectionOut,
    responses=problem_responses(400, 401, 403, 404, 422),
)
async def create_correction(
    filing_id: str,
    body: CorrectionCreate,
    request: Request,
    actor: ActorDep,
    session: SessionDep,
    dictionary: DictionaryDep,
) -> dict[str, Any]:
    """Files a correction request for a state-held value with the agency that owns it
    (status `open`; later `forwarded`, `resolved` or `rejected`). The consumer sees it on the
    filing, the citizen at `GET /v1/me/corrections`. `field_not_state_held` (422) for a value
    the applicant typed; `validation_failed` (422) for a claimed value the dictionary refuses."""
    filing = await service.get_filing(session, filing_id, actor.principal.client_id)
    correction = await service.request_correction(
        session,
        dictionary,
        filing,
        field=body.field,
        claimed_value=body.claimed_value,
        note=body.note,
    )
    await flows.record_change(
        request.app.state,
        actor,
        filing,
        "correction_requested",
        fields=[correction.field],
        details={"correction_id": correction.id, "owner_system": correction.owner_system},
    )
    return flows.correction_view(correction)


@router.patch(
    "/{filing_id}/corrections/{correction_id}",
    summary="Record a correction request's progress",
    response_model=CorrectionOut,
    responses=problem_responses(400, 401, 403, 404, 409, 422),
)
async def update_correction(
    filing_id: str,
    correction_id: str,
    body: CorrectionUpdate,
    request: Request,
    actor: ActorDep,
    session: SessionDep,
) -> dict[str, Any]:
    """`open` -> `forwarded` -> `resolved` | `rejected` (an open one may also be resolved or
    rejected at once); `illegal_correction_transition` (409) otherwise."""
    filing = await service.get_filing(session, filing_id, actor.principal.client_id)
    correction = await service.set_correction_status(session, filing, correction_id, body.status)
    await flows.record_change(
        request.app.state,
        actor,
        filing,
        f"correction_{body.status}",
        fields=[correction.field],
        details={"correction_id": correction.id},
    )
    return flows.correction_view(correction)
