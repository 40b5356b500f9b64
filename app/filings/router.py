"""Filings over HTTP: the declare-once flow for an agency's counter or portal (consumer).

Each endpoint parses, calls one service function and returns its model; the services
record their own ``filing.changed`` events, and the request's session commits when the
endpoint returns (app/deps.py). Prefill is a long flow with sessions of its own."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Header

from app.audit.serialize import request_hash
from app.deps import SessionDep
from app.errors import problem_responses
from app.filings import corrections, decisions, dossier, flows, opening, views
from app.filings.deps import CurrentFiling
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
from app.hub import HubDep
from app.routing import HubRoute
from app.security.actor import ConsumerOfficer

router = APIRouter(prefix="/v1/filings", tags=["filings"], route_class=HubRoute)


@router.post(
    "",
    status_code=201,
    summary="Open a filing and get its plan",
    responses=problem_responses(400, 401, 403, 404, 422),
)
async def open_filing(
    body: FilingOpen, actor: ConsumerOfficer, session: SessionDep, hub: HubDep
) -> FilingOut:
    """Opens a `draft` filing of `procedure` for `applicant_id` (on behalf of `on_behalf_of`,
    a child for example). The `plan` says per component: `pull_legal_basis`,
    `pull_with_consent` (with the consent `present` or `missing`), or `applicant_supplies`.
    Errors: `unknown_procedure` (404), `invalid_citizen_id` (422), `missing_user_id` (400),
    `procedure_not_granted` (403) when the client holds no procedure grant for it; every
    other route of a filing answers the same once the grant is removed."""
    return await opening.open_filing(session, hub, actor, body)


@router.get(
    "/{filing_id}",
    summary="Preview a filing",
    responses=problem_responses(400, 401, 403, 404),
)
async def get_filing(current: CurrentFiling, session: SessionDep) -> FilingOut:
    """The filing with its plan, dossier, per-field provenance, locked fields, declare-once
    counts, correction requests and, once approved, its result record. Only the client that
    opened it sees it: `filing_not_found` (404) for anyone else."""
    return await views.filing_out(session, current)


@router.post(
    "/{filing_id}/prefill",
    summary="Pre-fill the dossier from state data",
    responses=problem_responses(400, 401, 403, 404, 409),
)
async def prefill_filing(filing_id: str, actor: ConsumerOfficer, hub: HubDep) -> FilingOut:
    """Pulls every pullable component concurrently (or reuses an earlier filing's approved
    result) and fills the dossier, each value with its provenance: source system, source
    reference, `retrieved_at`, `last_updated`, `verified`, and the basis used. A component
    whose source fails is marked with its error code (`source_unavailable`,
    `subject_not_found`, `no_basis`, `consent_revoked` ...) and left to the applicant.
    May run again while the filing is `prefilled`; `illegal_filing_transition` (409) after."""
    return await flows.prefill(hub, actor, filing_id)


@router.patch(
    "/{filing_id}",
    summary="Fill applicant-supplied fields",
    responses=problem_responses(400, 401, 403, 404, 409, 422),
)
async def patch_filing(
    body: FilingPatch,
    current: CurrentFiling,
    actor: ConsumerOfficer,
    session: SessionDep,
    hub: HubDep,
) -> FilingOut:
    """Sets fields of the dossier, checked against their dictionary elements. Errors carry a
    JSON Pointer `path` and a `code` each: `validation_failed` (422; `unknown_component`,
    `unknown_field`, `format.citizen_id`, `code_not_in_list` ...), `field_verified_locked`
    (409) for a pre-filled, verified value, `field_derived` (409) for a field the procedure
    derives from another value (the plan's `derived_fields`: set its source instead),
    `illegal_filing_transition` (409) once submitted."""
    return await dossier.set_fields(session, hub, actor, current, body.dossier)


@router.post(
    "/{filing_id}/submit",
    summary="Submit the confirmed dossier",
    responses=problem_responses(400, 401, 403, 404, 409, 422),
)
async def submit_filing(
    current: CurrentFiling,
    actor: ConsumerOfficer,
    session: SessionDep,
    hub: HubDep,
    body: Annotated[FilingSubmit | None, Body()] = None,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None,
) -> FilingOut:
    """Validates the whole dossier against the procedure's schema and submits it. Needs
    `{"confirm": true}` (`confirmation_required`, 422). `dossier_invalid` (422) lists every
    problem. Idempotent: a repeat with the same `Idempotency-Key` and body, or without a key,
    returns the submitted filing; the same key with another body is `idempotency_key_reused`
    (422)."""
    submitted = body or FilingSubmit()
    return await decisions.submit(
        session,
        hub,
        actor,
        current,
        confirm=submitted.confirm,
        idempotency_key=idempotency_key,
        request_hash=request_hash(submitted.model_dump()),
    )


@router.post(
    "/{filing_id}/decision",
    summary="Decide a submitted filing",
    responses=problem_responses(400, 401, 403, 404, 409, 422),
)
async def decide_filing(
    body: FilingDecision,
    current: CurrentFiling,
    actor: ConsumerOfficer,
    session: SessionDep,
    hub: HubDep,
) -> FilingOut:
    """The processing agency's decision. An approval stores the procedure's result record
    (built from the dossier and `result`, validated against its record type: `result_invalid`,
    422) as state data that later filings reuse. `illegal_filing_transition` (409) unless the
    filing is `submitted`."""
    return await decisions.decide(session, hub, actor, current, body)


@router.post(
    "/{filing_id}/corrections",
    status_code=201,
    summary="Dispute a pre-filled value",
    responses=problem_responses(400, 401, 403, 404, 422),
)
async def create_correction(
    body: CorrectionCreate,
    current: CurrentFiling,
    actor: ConsumerOfficer,
    session: SessionDep,
    hub: HubDep,
) -> CorrectionOut:
    """Files a correction request for a state-held value with the agency that owns it
    (status `open`; later `forwarded`, `resolved` or `rejected`). The consumer sees it on the
    filing, the citizen at `GET /v1/me/corrections`. `field_not_state_held` (422) for a value
    the applicant typed; `validation_failed` (422) for a claimed value the dictionary refuses."""
    return await corrections.request_correction(session, hub, actor, current, body)


@router.patch(
    "/{filing_id}/corrections/{correction_id}",
    summary="Record a correction request's progress",
    responses=problem_responses(400, 401, 403, 404, 409, 422),
)
async def update_correction(
    filing_id: str,  # CurrentFiling's; named first so the path's parameters keep their order
    correction_id: str,
    body: CorrectionUpdate,
    current: CurrentFiling,
    actor: ConsumerOfficer,
    session: SessionDep,
    hub: HubDep,
) -> CorrectionOut:
    """`open` -> `forwarded` -> `resolved` | `rejected` (an open one may also be resolved or
    rejected at once); `illegal_correction_transition` (409) otherwise."""
    return await corrections.set_correction_status(
        session, hub, actor, current, correction_id, body.status
    )
