"""The consent API for agency systems: record a consent, read it, revoke it, get its receipt."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request, status

from app.audit.events import AuditEntry
from app.consent import service
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
from app.deps import DictionaryDep, SessionDep, SettingsDep
from app.errors import Conflict, problem_responses
from app.headers import InvalidHeader, is_header_value
from app.routing import HubRoute
from app.security.deps import PUBLIC, ConsumerClient

router = APIRouter(prefix="/v1/consents", tags=["consents"], route_class=HubRoute)


def officer_of(
    x_user_id: Annotated[
        str | None, Header(description="The officer at the counter, if any.")
    ] = None,
) -> str | None:
    if not x_user_id:
        return None
    # Stored in String(200) columns: an unchecked value fails the insert on PostgreSQL.
    if not is_header_value(x_user_id):
        raise InvalidHeader("X-User-Id must be 1 to 200 printable ASCII characters.")
    return x_user_id


OfficerId = Annotated[str | None, Depends(officer_of)]


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
        validity=ValidityOut(
            start=service.as_utc(consent.valid_from), expiry=service.as_utc(consent.valid_until)
        ),
        fetch_type=consent.fetch_type,
        max_uses_per_period=consent.max_uses_per_period,
        period=consent.period,
        usage=UsageOut(
            count=consent.use_count,
            last_used_at=service.as_utc(consent.last_used_at) if consent.last_used_at else None,
            period_key=consent.period_key,
            period_uses=consent.period_uses,
        ),
        capture=CaptureOut(
            channel=consent.channel,
            captured_at=service.as_utc(consent.captured_at),
            officer_id=consent.captured_by,
        ),
        language=consent.language,
        created_at=service.as_utc(consent.created_at),
        updated_at=service.as_utc(consent.updated_at),
        activated_at=service.as_utc(consent.activated_at) if consent.activated_at else None,
        ended_at=service.as_utc(consent.ended_at) if consent.ended_at else None,
        ended_by=consent.ended_by,
        end_reason=consent.end_reason,
    )


async def record_change(request: Request, entry: AuditEntry) -> None:
    """Append a consent state change to the access log; durable before the answer."""
    await request.app.state.audit.append(entry)


def receipt_of(request: Request, consent: Consent, settings: SettingsDep) -> ReceiptOut:
    """The signed receipt; only a consent that was once ACTIVE has one."""
    if consent.activated_at is None:
        raise Conflict(
            f"A {consent.status} consent that was never active has no receipt.",
            code="receipt_unavailable",
        )
    signer = receipt_signer(settings)
    receipt = build_receipt(
        consent,
        dictionary=request.app.state.dictionary,
        principal_reference=request.app.state.audit.subject_hmac(consent.subject_id),
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
    body: ConsentCreate,
    request: Request,
    consumer: ConsumerClient,
    session: SessionDep,
    dictionary: DictionaryDep,
    officer_id: OfficerId,
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
    recorded = await service.record_consent(
        session,
        dictionary,
        consumer,
        body,
        officer_id=officer_id,
        verifier=request.app.state.citizen_verifier,
    )
    consent = recorded.consent
    request_id = getattr(request.state, "request_id", None)
    await record_change(
        request,
        service.change_entry(
            consent,
            "NONE",
            actor="consumer",
            to=ConsentStatus.PENDING.value,
            client=consumer,
            officer_id=officer_id,
            request_id=request_id,
        ),
    )
    if recorded.approved:
        await record_change(
            request,
            service.change_entry(
                consent,
                ConsentStatus.PENDING.value,
                actor="citizen",
                client=consumer,
                officer_id=officer_id,
                request_id=request_id,
                approval={"by": "signed_approval"},
            ),
        )
    return consent_out(consent)


@router.get(
    "/{consent_id}",
    summary="Get a consent",
    responses=problem_responses(401, 403, 404),
)
async def get_consent(
    consent_id: str, request: Request, consumer: ConsumerClient, session: SessionDep
) -> ConsentOut:
    """A consent this client recorded, with its state and usage counter. Any other client's
    consent answers 404 `consent_not_found`."""
    consent = await service.get_for_client(session, consent_id, consumer.client_id)
    await service.expire_due(session, [consent], service.utcnow(), audit=request.app.state.audit)
    return consent_out(consent)


@router.post(
    "/{consent_id}/revoke",
    summary="Revoke a consent",
    responses=problem_responses(400, 401, 403, 404, 409, 422),
)
async def revoke_consent(
    consent_id: str,
    body: ReasonIn,
    request: Request,
    consumer: ConsumerClient,
    session: SessionDep,
    officer_id: OfficerId,
) -> ConsentOut:
    """Revoke a consent this client recorded (for example the applicant withdrew at the
    counter). Takes effect on the next pull on every hub instance. A consent that is already
    REVOKED, EXPIRED or REJECTED answers 409 `illegal_consent_transition`."""
    consent = await service.get_for_client(session, consent_id, consumer.client_id)
    previous = await service.transition(
        session,
        consent,
        ConsentStatus.REVOKED,
        actor="consumer",
        reason=body.reason,
        audit=request.app.state.audit,
    )
    await record_change(
        request,
        service.change_entry(
            consent,
            previous,
            actor="consumer",
            client=consumer,
            officer_id=officer_id,
            request_id=getattr(request.state, "request_id", None),
        ),
    )
    return consent_out(consent)


@router.get(
    "/{consent_id}/receipt",
    summary="Get a consent's signed receipt",
    responses=problem_responses(401, 403, 404, 409),
)
async def get_receipt(
    consent_id: str,
    request: Request,
    consumer: ConsumerClient,
    session: SessionDep,
    settings: SettingsDep,
) -> ReceiptOut:
    """The Kantara v1.1 / ISO/IEC TS 27560 receipt and its compact JWS (EdDSA). Verify it
    with the key of GET /v1/consents/receipt-keys (docs/consent-receipt.md). A consent that
    was never active answers 409 `receipt_unavailable`."""
    consent = await service.get_for_client(session, consent_id, consumer.client_id)
    return receipt_of(request, consent, settings)
