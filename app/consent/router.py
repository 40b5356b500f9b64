"""The consent API for agency systems: record a consent, read it, revoke it, get its receipt."""

from __future__ import annotations

from fastapi import APIRouter, status

from app.consent import service
from app.consent.errors import ReceiptUnavailable
from app.consent.models import Consent, ConsentStatus
from app.consent.receipts import build_receipt, receipt_signer
from app.consent.schemas import (
    CaptureOut,
    ConsentCreate,
    ConsentOut,
    Jwks,
    ReasonIn,
    ReceiptOut,
    ScopeItem,
    UsageOut,
    ValidityOut,
)
from app.deps import SessionDep, SettingsDep
from app.errors import problem_responses
from app.hub import Hub, HubDep
from app.routing import HubRoute
from app.security.actor import ConsumerActor
from app.security.deps import PUBLIC, ConsumerClient

router = APIRouter(prefix="/v1/consents", tags=["consents"], route_class=HubRoute)


def consent_out(consent: Consent) -> ConsentOut:
    return ConsentOut(
        id=consent.id,
        receipt_id=consent.receipt_id,
        subject=consent.subject_id,
        client_id=consent.client_id,
        agency=consent.agency,
        purpose=consent.purpose,
        scope=[ScopeItem(**item) for item in consent.scope],
        status=ConsentStatus(consent.status),
        validity=ValidityOut(start=consent.valid_from, expiry=consent.valid_until),
        fetch_type=consent.fetch_type,
        max_uses_per_period=consent.max_uses_per_period,
        period=consent.period,
        usage=UsageOut(
            count=consent.use_count,
            last_used_at=consent.last_used_at,
            period_key=consent.period_key,
            period_uses=consent.period_uses,
        ),
        capture=CaptureOut(
            channel=consent.channel,
            captured_at=consent.captured_at,
            officer_id=consent.captured_by,
        ),
        language=consent.language,
        created_at=consent.created_at,
        updated_at=consent.updated_at,
        activated_at=consent.activated_at,
        ended_at=consent.ended_at,
        ended_by=consent.ended_by,
        end_reason=consent.end_reason,
    )


def receipt_of(hub: Hub, consent: Consent) -> ReceiptOut:
    """The signed receipt; only a consent that was once ACTIVE has one."""
    if consent.activated_at is None:
        raise ReceiptUnavailable(
            f"A {consent.status} consent that was never active has no receipt."
        )
    signer = receipt_signer(hub.settings)
    receipt = build_receipt(
        consent,
        dictionary=hub.dictionary,
        principal_reference=hub.audit.subject_hmac(consent.subject_id),
        key_id=signer.kid,
    )
    return ReceiptOut(receipt=receipt, jws=signer.sign(receipt), kid=signer.kid)


@router.get(
    "/receipt-keys",
    summary="Keys that sign consent receipts",
    dependencies=[PUBLIC],
)
async def receipt_keys(settings: SettingsDep) -> Jwks:
    """A JWKS with the Ed25519 (OKP) public key of every receipt; match a receipt's `kid`."""
    return Jwks(keys=[receipt_signer(settings).jwk()])


@router.post(
    "",
    summary="Record a consent",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(400, 401, 403, 422),
)
async def record_consent(
    body: ConsentCreate, hub: HubDep, consumer: ConsumerActor, session: SessionDep
) -> ConsentOut:
    """Record, on the applicant's behalf, the consent they gave on the portal or at the
    counter. The calling client is the data consumer. The consent is PENDING until the
    citizen approves it (`POST /v1/me/consents/{id}/approve`), unless `citizen_approval`
    carries their signed approval of exactly these terms: then it is ACTIVE at once. An
    approval that does not match (another citizen, another consent hash, expired, not from
    the eID issuer) is 403 `consent_approval_invalid` and nothing is recorded. Every problem
    of the consent itself is listed (`invalid_consent`, with `invalid_citizen_id`,
    `unknown_record_type`, `unknown_field`, `invalid_validity`, `validity_too_long`,
    `invalid_fetch_limits` ... per item)."""
    consent = await service.record_consent(session, hub, consumer, body)
    return consent_out(consent)


@router.get(
    "/{consent_id}",
    summary="Get a consent",
    responses=problem_responses(401, 403, 404),
)
async def get_consent(
    consent_id: str, hub: HubDep, consumer: ConsumerClient, session: SessionDep
) -> ConsentOut:
    """A consent this client recorded, with its state and usage counter. Any other client's
    consent answers 404 `consent_not_found`."""
    consent = await service.get_for_client(session, consent_id, consumer.client_id)
    await service.expire_due(session, [consent], service.utcnow(), audit=hub.audit)
    return consent_out(consent)


@router.post(
    "/{consent_id}/revoke",
    summary="Revoke a consent",
    responses=problem_responses(400, 401, 403, 404, 409, 422),
)
async def revoke_consent(
    consent_id: str,
    body: ReasonIn,
    hub: HubDep,
    consumer: ConsumerActor,
    session: SessionDep,
) -> ConsentOut:
    """Revoke a consent this client recorded (for example the applicant withdrew at the
    counter). Takes effect on the next pull on every hub instance. A consent that is already
    REVOKED, EXPIRED or REJECTED answers 409 `illegal_consent_transition`."""
    consent = await service.get_for_client(session, consent_id, consumer.client.client_id)
    await service.transition(
        session,
        hub.audit,
        consumer,
        consent,
        ConsentStatus.REVOKED,
        by="consumer",
        reason=body.reason,
    )
    return consent_out(consent)


@router.get(
    "/{consent_id}/receipt",
    summary="Get a consent's signed receipt",
    responses=problem_responses(401, 403, 404, 409),
)
async def get_receipt(
    consent_id: str, hub: HubDep, consumer: ConsumerClient, session: SessionDep
) -> ReceiptOut:
    """The Kantara v1.1 / ISO/IEC TS 27560 receipt and its compact JWS (EdDSA). Verify it
    with the key of GET /v1/consents/receipt-keys (docs/consent-receipt.md). A consent that
    was never active answers 409 `receipt_unavailable`."""
    consent = await service.get_for_client(session, consent_id, consumer.client_id)
    return receipt_of(hub, consent)
