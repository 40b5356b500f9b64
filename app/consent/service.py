"""Consents: recording, reading and the lifecycle, with no HTTP in it.

The lifecycle (PENDING -> ACTIVE -> REVOKED | EXPIRED, PENDING -> REJECTED | REVOKED |
EXPIRED) is enforced by :data:`TRANSITIONS`; every change is one conditional UPDATE on the
state it was judged from, so a concurrent change makes the loser see
``illegal_consent_transition`` rather than overwrite the winner.

Each change appends its ``consent.changed`` event first and then writes, unflushed or
flushed, for the caller's transaction to commit: a change never persists without its event,
and on SQLite (one writer) the access log can still append while the request has not written.
A lost race can therefore leave an event for a change that did not happen, never the reverse.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from app.consent.approval import verify_approval
from app.consent.errors import (
    ConsentApprovalInvalid,
    ConsentNotFound,
    IllegalConsentTransition,
    InvalidConsent,
)
from app.consent.models import Consent, ConsentStatus, FetchType
from app.consent.schemas import ConsentCreate
from app.events import AuditEntry, AuditSink, EventKind, Outcome
from app.security.schemas import PURPOSE_PATTERN
from app.timestamps import as_utc, utcnow
from dictionary import Dictionary
from dictionary.formats import is_citizen_id

if TYPE_CHECKING:
    from app.hub import Hub
    from app.security.actor import Actor

__all__ = [
    "TRANSITIONS",
    "ConsentNotFound",
    "IllegalConsentTransition",
    "change_entry",
    "check_consent_request",
    "expire_due",
    "get_for_client",
    "get_for_subject",
    "list_for_subject",
    "period_key",
    "record_consent",
    "transition",
    "utcnow",
]

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


def _utc(moment: datetime) -> datetime:
    """A moment the client sent, in UTC (one without an offset is UTC): the hub stores UTC."""
    return as_utc(moment).astimezone(UTC)


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
    start = _utc(body.validity.start) if body.validity.start else now
    expiry = _utc(body.validity.expiry)
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
    if _utc(body.capture.captured_at) > now + CAPTURE_CLOCK_SKEW:
        problem("/capture/captured_at", "invalid_capture", "The capture time is in the future.")
    return problems


async def record_consent(
    session: AsyncSession,
    hub: Hub,
    actor: Actor,
    body: ConsentCreate,
    *,
    now: datetime | None = None,
) -> Consent:
    """Record a consent the applicant gave, refusing (every problem listed) a bad one.

    It is PENDING, for the citizen to approve, unless it carries the citizen's signed
    approval of exactly these terms; then it is ACTIVE. A client alone never activates one.
    """
    now = now or utcnow()
    problems = check_consent_request(hub.dictionary, body, now)
    if problems:
        raise InvalidConsent("The consent is not valid.", errors=problems)
    approval = None
    if body.citizen_approval is not None:
        approval = verify_approval(
            hub.citizen_verifier, body.citizen_approval, client_id=actor.client.client_id, body=body
        )
        if await session.scalar(select(Consent.id).where(Consent.approval_sha256 == approval)):
            raise _approval_used()
    approved = approval is not None
    status = ConsentStatus.ACTIVE if approved else ConsentStatus.PENDING
    periodic = body.fetch_type == FetchType.PERIODIC
    consent = Consent(
        id=str(uuid.uuid4()),
        receipt_id=str(uuid.uuid4()),
        subject_id=body.subject,
        client_id=actor.client.client_id,
        agency=actor.client.agency,
        purpose=body.purpose,
        scope=[
            {"record_type": item.record_type, "fields": list(dict.fromkeys(item.fields))}
            for item in body.scope
        ],
        status=status.value,
        valid_from=_utc(body.validity.start) if body.validity.start else now,
        valid_until=_utc(body.validity.expiry),
        fetch_type=body.fetch_type.value,
        max_uses_per_period=(body.max_uses_per_period or 1) if periodic else 1,
        period=body.period.value if periodic and body.period else None,
        use_count=0,
        period_key=None,
        period_uses=0,
        channel=body.capture.channel.value,
        captured_at=_utc(body.capture.captured_at),
        captured_by=body.capture.officer_id or actor.officer_id,
        language=body.language,
        created_at=now,
        updated_at=now,
        activated_at=now if approved else None,
        approval_sha256=approval,
    )
    audit = hub.audit
    await audit.append(change_entry(consent, "NONE", by="consumer", actor=actor, to="PENDING"))
    if approved:
        await audit.append(
            change_entry(
                consent,
                ConsentStatus.PENDING.value,
                by="citizen",
                actor=actor,
                approval={"by": "signed_approval"},
            )
        )
    session.add(consent)
    try:
        await session.flush()
    except IntegrityError:
        # Two requests raced with one approval: the database's unique index decides.
        if not approved:
            raise
        raise _approval_used() from None
    return consent


def _approval_used() -> ConsentApprovalInvalid:
    return ConsentApprovalInvalid(
        "This approval has already activated a consent; the citizen approves again.",
        extra={"reason": "already_used"},
    )


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
    by: str,
    actor: Actor | None = None,
    to: str | None = None,
    reason: str | None = None,
    approval: dict[str, Any] | None = None,
) -> AuditEntry:
    """The access-log event of a state change, with the subject set so the citizen sees it.

    ``by`` is who changed it (``consumer``, ``citizen`` or ``hub``); ``actor`` is the request's
    caller, None for the hub's own expiry. ``to`` and ``reason`` default to the consent's.
    A citizen's change is logged under the consent's client, as the hub's is; an agency's
    under its own."""
    fields: dict[str, Any] = {
        "subject_id": consent.subject_id,
        "purpose": consent.purpose,
        "details": {
            "consent_id": consent.id,
            "from": previous,
            "to": to or consent.status,
            "actor": by,
            "reason": reason if reason is not None else consent.end_reason,
            "scope": consent.scope,
            **({"approval": approval} if approval else {}),
        },
    }
    if actor is None:
        return AuditEntry(
            kind=EventKind.CONSENT_CHANGED,
            outcome=Outcome.OK,
            client_id=consent.client_id,
            agency=consent.agency,
            **fields,
        )
    if actor.client_id is None:
        fields.update(client_id=consent.client_id, agency=consent.agency)
    return actor.entry(EventKind.CONSENT_CHANGED, **fields)


async def transition(
    session: AsyncSession,
    audit: AuditSink,
    actor: Actor,
    consent: Consent,
    target: ConsentStatus,
    *,
    by: str,
    reason: str | None = None,
    now: datetime | None = None,
) -> str:
    """Move the consent to ``target`` if the lifecycle allows it, logging the change; returns
    the previous state.

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
        values.update(ended_at=now, ended_by=by, end_reason=reason)
    await audit.append(
        change_entry(consent, previous.value, by=by, actor=actor, to=target.value, reason=reason)
    )
    result = await session.execute(
        update(Consent)
        .where(Consent.id == consent.id, Consent.status == previous.value)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        current = await _get(session, consent.id)
        raise IllegalConsentTransition(
            f"The consent changed meanwhile; it is now {current.status if current else 'gone'}.",
            extra={"consent_id": consent.id, "to": target.value},
        )
    _written(consent, values)
    return previous.value


async def expire_due(
    session: AsyncSession,
    consents: Sequence[Consent],
    now: datetime,
    *,
    audit: AuditSink | None = None,
) -> list[Consent]:
    """Mark the PENDING or ACTIVE consents whose expiry has passed as EXPIRED (and log it).

    Every event is appended before the first write, so the access log never waits for
    the caller's own transaction."""
    due = [
        consent
        for consent in consents
        if consent.status in (ConsentStatus.PENDING, ConsentStatus.ACTIVE)
        and consent.valid_until <= now
    ]
    ended = {"ended_at": now, "ended_by": "hub", "end_reason": "expired"}
    if audit is not None:
        for consent in due:
            expired = ConsentStatus.EXPIRED.value
            await audit.append(
                change_entry(consent, consent.status, by="hub", to=expired, reason="expired")
            )
    changed = []
    for consent in due:
        previous = consent.status
        result = await session.execute(
            update(Consent)
            .where(Consent.id == consent.id, Consent.status == previous)
            .values(status=ConsentStatus.EXPIRED.value, updated_at=now, **ended)
            .execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 0) != 1:
            continue
        _written(consent, {"status": ConsentStatus.EXPIRED.value, "updated_at": now, **ended})
        changed.append(consent)
    return changed


def _written(consent: Consent, values: dict[str, Any]) -> None:
    """Show on the loaded consent what its conditional UPDATE wrote, without making the
    session write it a second time, unconditionally."""
    for name, value in values.items():
        set_committed_value(consent, name, value)
