"""The citizen's own consents: list, approve or reject a pending one, revoke, get a receipt.

A citizen sees only consents whose subject is their own ID; any other consent id answers
404 `consent_not_found`, so an id reveals nothing about another citizen.
"""

from __future__ import annotations

from fastapi import APIRouter, Body, Request

from app.consent import service
from app.consent.models import ConsentStatus
from app.consent.router import consent_out, receipt_of, record_change
from app.consent.schemas import ConsentOut, OptionalReasonIn, ReceiptOut
from app.deps import SessionDep, SettingsDep
from app.errors import problem_responses
from app.routing import HubRoute
from app.security.citizen import CitizenPrincipal
from app.security.deps import CitizenDep

router = APIRouter(prefix="/v1/me/consents", tags=["citizen"], route_class=HubRoute)

OptionalReason = OptionalReasonIn | None


async def _change(
    request: Request,
    session: SessionDep,
    citizen: CitizenPrincipal,
    consent_id: str,
    target: ConsentStatus,
    reason: str | None,
) -> ConsentOut:
    consent = await service.get_for_subject(session, consent_id, citizen.citizen_id)
    previous = await service.transition(
        session,
        consent,
        target,
        actor="citizen",
        reason=reason,
        audit=request.app.state.audit,
    )
    await record_change(
        request,
        service.change_entry(
            consent,
            previous,
            actor="citizen",
            request_id=getattr(request.state, "request_id", None),
        ),
    )
    return consent_out(consent)


@router.get("", summary="My consents", responses=problem_responses(401, 403))
async def my_consents(
    request: Request, citizen: CitizenDep, session: SessionDep
) -> list[ConsentOut]:
    """Every consent recorded about me, in every state, newest first, with who holds it,
    for what purpose, which fields, until when and how often it has been used."""
    consents = await service.list_for_subject(session, citizen.citizen_id)
    await service.expire_due(session, consents, service.utcnow(), audit=request.app.state.audit)
    return [consent_out(c) for c in consents]


@router.post(
    "/{consent_id}/revoke",
    summary="Revoke my consent",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def revoke_my_consent(
    consent_id: str,
    request: Request,
    citizen: CitizenDep,
    session: SessionDep,
    body: OptionalReason = Body(default=None),
) -> ConsentOut:
    """Withdraw a consent. The very next pull under it is refused (`consent_revoked`) on
    every hub instance. Another citizen's consent answers 404; a consent already ended
    answers 409 `illegal_consent_transition`."""
    reason = body.reason if body else None
    return await _change(request, session, citizen, consent_id, ConsentStatus.REVOKED, reason)


@router.post(
    "/{consent_id}/approve",
    summary="Approve my pending consent",
    responses=problem_responses(401, 403, 404, 409),
)
async def approve_my_consent(
    consent_id: str, request: Request, citizen: CitizenDep, session: SessionDep
) -> ConsentOut:
    """Turn a PENDING consent an agency recorded into ACTIVE. Anything but PENDING answers
    409 `illegal_consent_transition`."""
    return await _change(request, session, citizen, consent_id, ConsentStatus.ACTIVE, None)


@router.post(
    "/{consent_id}/reject",
    summary="Reject my pending consent",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def reject_my_consent(
    consent_id: str,
    request: Request,
    citizen: CitizenDep,
    session: SessionDep,
    body: OptionalReason = Body(default=None),
) -> ConsentOut:
    """Refuse a PENDING consent; it becomes REJECTED and never allows a pull."""
    reason = body.reason if body else None
    return await _change(request, session, citizen, consent_id, ConsentStatus.REJECTED, reason)


@router.get(
    "/{consent_id}/receipt",
    summary="My consent's signed receipt",
    responses=problem_responses(401, 403, 404, 409),
)
async def my_receipt(
    consent_id: str,
    request: Request,
    citizen: CitizenDep,
    session: SessionDep,
    settings: SettingsDep,
) -> ReceiptOut:
    """The receipt the citizen can keep to prove what they agreed to (same as the agency's)."""
    consent = await service.get_for_subject(session, consent_id, citizen.citizen_id)
    return receipt_of(request, consent, settings)
