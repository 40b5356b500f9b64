"""Consents: recording, reading and the lifecycle, with no HTTP in it.

The lifecycle (PENDING -> ACTIVE -> REVOKED | EXPIRED, PENDING -> REJECTED | REVOKED |
EXPIRED) is enforced by :data:`TRANSITIONS`; every change is one conditional UPDATE on the
state it was judged from, so a concurrent change makes the loser see
``illegal_consent_transition`` rather than overwrite the winner.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.events import AuditEntry, AuditSink, EventKind, Outcome
from app.consent.approval import verify_approval
from app.consent.errors import ConsentApprovalInvalid
from app.consent.models import Consent, ConsentStatus, FetchType
from app.consent.schemas import ConsentCreate
from app.errors import Conflict, NotFound, Unprocessable
from app.security.citizen import CitizenTokenVerifier
from app.security.roles import ClientPrincipal
from app.security.schemas import PURPOSE_PATTERN
from app.timestamps import utcnow
from dictionary import Dictionary
from dictionary.formats import is_citizen_id

MAX_VALIDITY = timedelta(days=366)
CAPTURE_CLOCK_SKEW = timedelta(minutes=5)
# Periods are counted on Vietnamese calendar days (UTC+7, no daylight saving).
VN_TZ = timezone(timedelta(hours=7))
_PURPOSE = re.compile(PURPOSE_PATTERN)

TRANSITIONS: dict[ConsentStatus, frozenset[ConsentStatus]] = {
    ConsentStatus.PENDING: frozenset(
        {
            ConsentStatus.ACTIVE,
            ConsentStatus.REJECTED,
            ConsentStatus.REVOKED,
            ConsentStatus.EXPIRED,
        }
    ),
    ConsentStatus.ACTIVE: frozenset({ConsentStatus.REVOKED, ConsentStatus.EXPIRED}),
    ConsentStatus.REVOKED: frozenset(),
    ConsentStatus.EXPIRED: frozenset(),
    ConsentStatus.REJECTED: frozenset(),
}


class ConsentNotFound(NotFound):
    code, title = "consent_not_found", "Consent not found"


class IllegalConsentTransition(Conflict):
    code, title = "illegal_consent_transition", "Illegal consent transition"


def as_utc(moment: datetime) -> datetime:
    """Aware UTC. SQLite hands back naive datetimes; the hub stores UTC only."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def period_key(fetch_type: str, period: str | None, now: datetime) -> str:
    """The counting period ``now`` falls in: ``once`` for ONE_TIME, else a calendar label."""
    if fetch_type == FetchType.ONE_TIME or period is None:
        return "once"
    local = now.astimezone(VN_TZ)
    if period == "day":
        return local.date().isoformat()
    if period == "week":
        year, week, _ = local.isocalendar()
        return f"{year}-W{week:02d}"
    if period == "month":
        return f"{local.year}-{local.month:02d}"
    return str(local.year)


# ---------------------------------------------------------------------------------------------
# Recording


def check_consent_request(
    dictionary: Dictionary, body: ConsentCreate, now: datetime
) -> list[dict[str, str]]:
    """Every problem with a consent to record, each with a path and a stable code."""
    problems: list[dict[str, str]] = []

    def problem(path: str, code: str, message: str) -> None:
        problems.append({"path": path, "code": code, "message": message})

    if not is_citizen_id(body.subject):
        problem("/subject", "invalid_citizen_id", "The subject is not a valid 12-digit citizen ID.")
    if not _PURPOSE.match(body.purpose):
        problem(
            "/purpose",
            "invalid_purpose",
            f"{body.purpose!r} is not a purpose code (lower-case slug).",
        )
    seen: set[str] = set()
    for index, item in enumerate(body.scope):
        record_type = dictionary.record_types.get(item.record_type)
        if record_type is None:
            problem(
                f"/scope/{index}/record_type",
                "unknown_record_type",
                f"The dictionary has no record type {item.record_type!r}.",
            )
            continue
        if item.record_type in seen:
            problem(
                f"/scope/{index}/record_type",
                "duplicate_record_type",
                f"{item.record_type} appears twice in the scope; list its fields once.",
            )
        seen.add(item.record_type)
        known = {f.name for version in record_type.versions for f in version.fields}
        for position, name in enumerate(item.fields):
            if name not in known:
                problem(
                    f"/scope/{index}/fields/{position}",
                    "unknown_field",
                    f"{item.record_type} has no field {name!r}.",
                )
    start = as_utc(body.validity.start) if body.validity.start else now
    expiry = as_utc(body.validity.expiry)
    if expiry <= start:
        problem("/validity/expiry", "invalid_validity", "The expiry must be after the start.")
    elif expiry - start > MAX_VALIDITY:
        problem(
            "/validity/expiry",
            "validity_too_long",
            f"A consent lasts at most {MAX_VALIDITY.days} days.",
        )
    elif expiry <= now:
        problem("/validity/expiry", "invalid_validity", "The expiry is already past.")
    if body.fetch_type == FetchType.PERIODIC:
        if body.max_uses_per_period is None or body.period is None:
            problem(
                "/fetch_type",
                "invalid_fetch_limits",
                "A PERIODIC consent needs max_uses_per_period and period.",
            )
    elif body.max_uses_per_period not in (None, 1) or body.period is not None:
        problem(
            "/fetch_type",
            "invalid_fetch_limits",
            "A ONE_TIME consent is used once; it takes no period or max_uses_per_period.",
        )
    if as_utc(body.capture.captured_at) > now + CAPTURE_CLOCK_SKEW:
        problem("/capture/captured_at", "invalid_capture", "The capture time is in the future.")
    return problems


@dataclass(frozen=True, slots=True)
class RecordedConsent:
    """A consent as recorded, and whether it came with the citizen's signed approval."""

    consent: Consent
    approved: bool


async def record_consent(
    session: AsyncSession,
    dictionary: Dictionary,
    principal: ClientPrincipal,
    body: ConsentCreate,
    *,
    officer_id: str | None,
    verifier: CitizenTokenVerifier,
    now: datetime | None = None,
) -> RecordedConsent:
    """Record a consent the applicant gave, refusing (every problem listed) a bad one.

    It is PENDING, for the citizen to approve, unless it carries the citizen's signed
    approval of exactly these terms; then it is ACTIVE. A client alone never activates one.
    """
    now = now or utcnow()
    problems = check_consent_request(dictionary, body, now)
    if problems:
        raise Unprocessable("The consent is not valid.", code="invalid_consent", errors=problems)
    approval = None
    if body.citizen_approval is not None:
        approval = verify_approval(
            verifier, body.citizen_approval, client_id=principal.client_id, body=body
        )
    approved = approval is not None
    status = ConsentStatus.ACTIVE if approved else ConsentStatus.PENDING
    periodic = body.fetch_type == FetchType.PERIODIC
    consent = Consent(
        id=str(uuid.uuid4()),
        receipt_id=str(uuid.uuid4()),
        subject_id=body.subject,
        client_id=principal.client_id,
        agency=principal.agency,
        purpose=body.purpose,
        scope=[
            {"record_type": item.record_type, "fields": list(dict.fromkeys(item.fields))}
            for item in body.scope
        ],
        status=status.value,
        valid_from=as_utc(body.validity.start) if body.validity.start else now,
        valid_until=as_utc(body.validity.expiry),
        fetch_type=body.fetch_type.value,
        max_uses_per_period=(body.max_uses_per_period or 1) if periodic else 1,
        period=body.period.value if periodic and body.period else None,
        use_count=0,
        period_key=None,
        period_uses=0,
        channel=body.capture.channel.value,
        captured_at=as_utc(body.capture.captured_at),
        captured_by=body.capture.officer_id or officer_id,
        language=body.language,
        created_at=now,
        updated_at=now,
        activated_at=now if approved else None,
        approval_sha256=approval,
    )
    session.add(consent)
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        if not approved:
            raise
        raise ConsentApprovalInvalid(
            "This approval has already activated a consent; the citizen approves again.",
            extra={"reason": "already_used"},
        ) from None
    return RecordedConsent(consent, approved)


# ---------------------------------------------------------------------------------------------
# Reading


async def _get(session: AsyncSession, consent_id: str) -> Consent | None:
    return await session.get(Consent, consent_id, populate_existing=True)


async def get_for_client(session: AsyncSession, consent_id: str, client_id: str) -> Consent:
    """The consent, if this client recorded it; any other client gets not-found."""
    consent = await _get(session, consent_id)
    if consent is None or consent.client_id != client_id:
        raise ConsentNotFound(f"No consent {consent_id} recorded by this client.")
    return consent


async def get_for_subject(session: AsyncSession, consent_id: str, subject_id: str) -> Consent:
    """The consent, if it is this citizen's; another citizen's is not-found, not forbidden."""
    consent = await _get(session, consent_id)
    if consent is None or consent.subject_id != subject_id:
        raise ConsentNotFound(f"You have no consent {consent_id}.")
    return consent


async def list_for_subject(session: AsyncSession, subject_id: str) -> list[Consent]:
    rows = await session.scalars(
        select(Consent)
        .where(Consent.subject_id == subject_id)
        .order_by(Consent.created_at.desc(), Consent.id)
    )
    return list(rows.all())


# ---------------------------------------------------------------------------------------------
# The lifecycle


def change_entry(
    consent: Consent,
    previous: str,
    *,
    actor: str,
    to: str | None = None,
    client: ClientPrincipal | None = None,
    officer_id: str | None = None,
    request_id: str | None = None,
    approval: dict[str, Any] | None = None,
) -> AuditEntry:
    """The access-log event of a state change, with the subject set so the citizen sees it."""
    return AuditEntry(
        kind=EventKind.CONSENT_CHANGED,
        outcome=Outcome.OK,
        client_id=client.client_id if client else consent.client_id,
        agency=client.agency if client else consent.agency,
        officer_id=officer_id,
        subject_id=consent.subject_id,
        purpose=consent.purpose,
        request_id=request_id,
        details={
            "consent_id": consent.id,
            "from": previous,
            "to": to or consent.status,
            "actor": actor,
            "reason": consent.end_reason,
            "scope": consent.scope,
            **({"approval": approval} if approval else {}),
        },
    )


async def transition(
    session: AsyncSession,
    consent: Consent,
    target: ConsentStatus,
    *,
    actor: str,
    reason: str | None = None,
    now: datetime | None = None,
    audit: AuditSink | None = None,
) -> str:
    """Move the consent to ``target`` if the lifecycle allows it; returns the previous state.

    A consent already past its expiry is expired first, so revoking it answers
    ``illegal_consent_transition`` from EXPIRED rather than pretending to revoke.
    """
    now = now or utcnow()
    await expire_due(session, [consent], now, audit=audit)
    previous = ConsentStatus(consent.status)
    if target not in TRANSITIONS[previous]:
        raise IllegalConsentTransition(
            f"A {previous.value} consent cannot become {target.value}.",
            extra={"consent_id": consent.id, "from": previous.value, "to": target.value},
        )
    values: dict[str, Any] = {"status": target.value, "updated_at": now}
    if target == ConsentStatus.ACTIVE:
        values["activated_at"] = now
    else:
        values.update(ended_at=now, ended_by=actor, end_reason=reason)
    result = await session.execute(
        update(Consent)
        .where(Consent.id == consent.id, Consent.status == previous.value)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    await session.commit()
    if getattr(result, "rowcount", 0) != 1:
        current = await _get(session, consent.id)
        raise IllegalConsentTransition(
            f"The consent changed meanwhile; it is now {current.status if current else 'gone'}.",
            extra={"consent_id": consent.id, "to": target.value},
        )
    for name, value in values.items():
        setattr(consent, name, value)
    return previous.value


async def expire_due(
    session: AsyncSession,
    consents: Sequence[Consent],
    now: datetime,
    *,
    audit: AuditSink | None = None,
) -> list[Consent]:
    """Mark the PENDING or ACTIVE consents whose expiry has passed as EXPIRED (and log it)."""
    changed = []
    for consent in consents:
        live = consent.status in (ConsentStatus.PENDING, ConsentStatus.ACTIVE)
        if not live or as_utc(consent.valid_until) > now:
            continue
        previous = consent.status
        result = await session.execute(
            update(Consent)
            .where(Consent.id == consent.id, Consent.status == previous)
            .values(
                status=ConsentStatus.EXPIRED.value,
                updated_at=now,
                ended_at=now,
                ended_by="hub",
                end_reason="expired",
            )
            .execution_options(synchronize_session=False)
        )
        await session.commit()
        if getattr(result, "rowcount", 0) != 1:
            continue
        consent.status = ConsentStatus.EXPIRED.value
        consent.updated_at = consent.ended_at = now
        consent.ended_by, consent.end_reason = "hub", "expired"
        changed.append(consent)
        if audit is not None:
            await audit.append(change_entry(consent, previous, actor="hub"))
    return changed
