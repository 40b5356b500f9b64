"""The citizen's own consents: list, approve or reject a pending one, revoke, get a receipt.

A citizen sees only consents whose subject is their own ID; any other consent id answers
404 `consent_not_found`, so an id reveals nothing about another citizen.
"""

from __future__ import annotations

from fastapi import APIRouter, Body

from app.consent import service
from app.consent.models import ConsentStatus
from app.consent.router import consent_out, receipt_of
from app.consent.schemas import ConsentOut, OptionalReasonIn, ReceiptOut
from app.deps import SessionDep
from app.errors import problem_responses
from app.hub import HubDep
from app.routing import HubRoute
from app.security.actor import Actor, CitizenActor
from app.security.citizen import CitizenPrincipal
from app.security.deps import CitizenDep

router = APIRouter(prefix="/v1/me/consents", tags=["citizen"], route_class=HubRoute)

OptionalReason = OptionalReasonIn | None


def _citizen_id(actor: Actor) -> str:
    citizen = actor.principal
    assert isinstance(citizen, CitizenPrincipal)  # CitizenActor admits citizens only
    return citizen.citizen_id


async def _change(
    hub: HubDep,
    session: SessionDep,
    citizen: Actor,
    consent_id: str,
    target: ConsentStatus,
    reason: str | None,
) -> ConsentOut:
    consent = await service.get_for_subject(session, consent_id, _citizen_id(citizen))
    await service.transition(
        session, hub.audit, citizen, consent, target, by="citizen", reason=reason
    )
    return consent_out(consent)


@router.get("", summary="My consents", responses=problem_responses(401, 403))
async def my_consents(hub: HubDep, citizen: CitizenDep, session: SessionDep) -> list[ConsentOut]:
    """Every consent recorded about me, in every state, newest first, with who holds it,
    for what purpose, which fields, until when and how often it has been used."""
    consents = await service.list_for_subject(session, citizen.citizen_id)
    await service.expire_due(session, consents, service.utcnow(), audit=hub.audit)
    return [consent_out(c) for c in consents]


@router.post(
    "/{consent_id}/revoke",
    summary="Revoke my consent",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def revoke_my_consent(
    consent_id: str,
    hub: HubDep,
    citizen: CitizenActor,
    session: SessionDep,
    body: OptionalReason = Body(default=None),
) -> ConsentOut:
    """Withdraw a consent. The very next pull under it is refused (`consent_revoked`) on
    every hub instance. Another citizen's consent answers 404; a consent already ended
    answers 409 `illegal_consent_transition`."""
    reason = body.reason if body else None
    return await _change(hub, session, citizen, consent_id, ConsentStatus.REVOKED, reason)


@router.post(
    "/{consent_id}/approve",
    summary="Approve my pending consent",
    responses=problem_responses(401, 403, 404, 409),
)
async def approve_my_consent(
    consent_id: str, hub: HubDep, citizen: CitizenActor, session: SessionDep
) -> ConsentOut:
    """Turn a PENDING consent an agency recorded into ACTIVE. Anything but PENDING answers
    409 `illegal_consent_transition`."""
    return await _change(hub, session, citizen, consent_id, ConsentStatus.ACTIVE, None)


@router.post(
    "/{consent_id}/reject",
    summary="Reject my pending consent",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def reject_my_consent(
    consent_id: str,
    hub: HubDep,
    citizen: CitizenActor,
    session: SessionDep,
    body: OptionalReason = Body(default=None),
) -> ConsentOut:
    """Refuse a PENDING consent; it becomes REJECTED and never allows a pull."""
    reason = body.reason if body else None
    return await _change(hub, session, citizen, consent_id, ConsentStatus.REJECTED, reason)


@router.get(
    "/{consent_id}/receipt",
    summary="My consent's signed receipt",
    responses=problem_responses(401, 403, 404, 409),
)
async def my_receipt(
    consent_id: str, hub: HubDep, citizen: CitizenDep, session: SessionDep
) -> ReceiptOut:
    """The receipt the citizen can keep to prove what they agreed to (same as the agency's)."""
    consent = await service.get_for_subject(session, consent_id, citizen.citizen_id)
    return receipt_of(hub, consent)
