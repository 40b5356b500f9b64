"""The one function that decides on what basis a pull may happen: the data path and filings
both call :func:`decide_basis`, so a legal basis and a consent are judged the same way
everywhere.

A legal basis (a citation such as "Decree 278/2025/ND-CP, Art. 12") needs no consent but is
still logged and shown to the citizen. Without one, the pull needs an ACTIVE consent of the
subject that covers the client, the purpose, the record type and every field requested,
within its validity and use limit; using it counts one use.

Nothing here is cached: every decision reads the consent table, and a use is spent by one
conditional UPDATE that re-checks status, validity and the limit in the database. So a
revocation committed on any hub instance blocks the very next pull on every instance, and
two concurrent pulls cannot both spend a ONE_TIME consent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import case, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.consent.errors import (
    ConsentExhausted,
    ConsentExpired,
    ConsentNotActive,
    ConsentPurposeMismatch,
    ConsentRefused,
    ConsentRevoked,
    ConsentScope,
    NoBasis,
)
from app.consent.models import Consent, ConsentStatus
from app.consent.service import expire_due, period_key
from app.errors import Forbidden
from app.events import AuditSink
from app.timestamps import as_utc, utcnow

__all__ = [
    "REFUSALS",
    "Basis",
    "ConsentCheck",
    "ConsentExhausted",
    "ConsentExpired",
    "ConsentNotActive",
    "ConsentPurposeMismatch",
    "ConsentRefused",
    "ConsentRevoked",
    "ConsentScope",
    "NoBasis",
    "check_consent",
    "decide_basis",
]

REFUSALS: dict[str, type[Forbidden]] = {
    cls.code: cls
    for cls in (
        NoBasis,
        ConsentRevoked,
        ConsentExpired,
        ConsentExhausted,
        ConsentScope,
        ConsentPurposeMismatch,
        ConsentNotActive,
    )
}

# How close a consent came to allowing the pull; the refusal reports the closest one, so a
# portal learns "used up" or "revoked" rather than "another purpose" when both exist.
_RANK = {
    "consent_exhausted": 7,
    "consent_pending": 6,
    "consent_revoked": 5,
    "consent_expired": 4,
    "consent_rejected": 3,
    "consent_scope": 2,
    "consent_purpose_mismatch": 1,
}


@dataclass(frozen=True, slots=True)
class Basis:
    """Why a pull is lawful: ``kind`` legal with its citation, or consent with its id."""

    kind: Literal["legal", "consent"]
    reference: str

    def as_audit(self) -> str:
        return f"{self.kind}:{self.reference}"

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "reference": self.reference}


@dataclass(frozen=True, slots=True)
class ConsentCheck:
    """The answer of :func:`check_consent`: a usable consent, or the reason there is none.

    ``code`` is None when ``consent_id`` names a consent that would allow the pull now;
    otherwise it is the code :func:`decide_basis` would refuse with (``no_basis``,
    ``consent_revoked`` ...) and ``consent_id`` names the closest consent, if any.
    """

    consent_id: str | None
    code: str | None
    detail: str
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.code is None

    def as_dict(self) -> dict[str, Any]:
        return {"consent_id": self.consent_id, "code": self.code, "detail": self.detail}


@dataclass(frozen=True, slots=True)
class _Verdict:
    rank: int
    code: str | None
    detail: str
    consent: Consent
    extra: dict[str, Any] = field(default_factory=dict)


def _judge(
    consent: Consent, *, record_type: str, fields: Sequence[str], purpose: str, now: datetime
) -> _Verdict:
    """Whether one consent allows this pull now, and if not, why (with its rank)."""

    def refuse(reason: str, detail: str, **extra: Any) -> _Verdict:
        return _Verdict(_RANK[reason], reason, detail, consent, extra)

    if consent.purpose != purpose:
        return refuse(
            "consent_purpose_mismatch",
            f"The consent was given for purpose {consent.purpose!r}, not {purpose!r}.",
        )
    granted = {item["record_type"]: set(item["fields"]) for item in consent.scope}
    if record_type not in granted:
        return refuse(
            "consent_scope",
            f"The consent does not cover the record type {record_type}.",
            outside_scope=[record_type],
        )
    missing = [f for f in dict.fromkeys(fields) if f not in granted[record_type]]
    if missing:
        return refuse(
            "consent_scope",
            f"The consent does not cover {record_type} field(s) {', '.join(missing)}.",
            outside_scope=[f"{record_type}.{f}" for f in missing],
        )
    status = consent.status
    if status == ConsentStatus.REVOKED:
        return refuse("consent_revoked", "The subject's consent has been revoked.")
    if status == ConsentStatus.REJECTED:
        return refuse("consent_rejected", "The subject rejected this consent.")
    if status == ConsentStatus.EXPIRED or consent.valid_until <= now:
        return refuse("consent_expired", "The subject's consent has expired.")
    if status == ConsentStatus.PENDING:
        return refuse("consent_pending", "The consent awaits the subject's approval.")
    if consent.valid_from > now:
        return refuse("consent_pending", "The consent's validity has not started yet.")
    key = period_key(consent.fetch_type, consent.period, now)
    if consent.period_key == key and consent.period_uses >= consent.max_uses_per_period:
        limit = "once" if key == "once" else f"{consent.max_uses_per_period} per {consent.period}"
        return refuse(
            "consent_exhausted", f"The consent has been used up ({limit}).", period_key=key
        )
    return _Verdict(100, None, "The consent allows this pull.", consent)


def _verdicts(
    consents: Sequence[Consent],
    *,
    record_type: str,
    fields: Sequence[str],
    purpose: str,
    now: datetime,
) -> list[_Verdict]:
    judged = [
        _judge(c, record_type=record_type, fields=fields, purpose=purpose, now=now)
        for c in consents
    ]
    # Best first; among usable ones spend the one that ends soonest, among refusals report
    # the most recently changed.
    return sorted(
        judged,
        key=lambda v: (
            -v.rank,
            v.consent.valid_until.timestamp()
            if v.code is None
            else -v.consent.updated_at.timestamp(),
        ),
    )


def _refusal(
    best: _Verdict | None, *, record_type: str, purpose: str
) -> tuple[type[Forbidden], str, dict[str, Any]]:
    base = {"record_type": record_type, "purpose": purpose}
    if best is None:
        return (
            NoBasis,
            f"No legal basis is declared for purpose {purpose!r} on {record_type}, and no "
            "consent of the subject covers it.",
            base,
        )
    extra = {**base, "consent_id": best.consent.id, **best.extra}
    code = best.code or "consent_exhausted"
    if code in ("consent_pending", "consent_rejected"):
        extra["consent_status"] = best.consent.status
        return ConsentNotActive, best.detail, extra
    return REFUSALS[code], best.detail, extra


@asynccontextmanager
async def _own_session(session: AsyncSession) -> AsyncIterator[AsyncSession]:
    """A short session of our own on the caller's engine: the caller's open transaction
    (or a concurrent use of the caller's session by prefill tasks) never mixes with ours."""
    bind = session.bind
    if isinstance(bind, AsyncEngine):
        async with AsyncSession(bind, expire_on_commit=False) as own:
            yield own
    else:
        yield session


async def _consents_of(session: AsyncSession, subject_id: str, client_id: str) -> list[Consent]:
    rows = await session.scalars(
        select(Consent)
        .where(Consent.subject_id == subject_id, Consent.client_id == client_id)
        .execution_options(populate_existing=True)
    )
    return list(rows.all())


async def _spend(session: AsyncSession, consent: Consent, now: datetime) -> bool:
    """Count one use, if the database still allows it: one conditional UPDATE."""
    key = period_key(consent.fetch_type, consent.period, now)
    result = await session.execute(
        update(Consent)
        .where(
            Consent.id == consent.id,
            Consent.status == ConsentStatus.ACTIVE.value,
            Consent.valid_from <= now,
            Consent.valid_until > now,
            or_(
                Consent.period_key.is_(None),
                Consent.period_key != key,
                Consent.period_uses < Consent.max_uses_per_period,
            ),
        )
        .values(
            use_count=Consent.use_count + 1,
            period_uses=case((Consent.period_key == key, Consent.period_uses + 1), else_=1),
            period_key=key,
            last_used_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    await session.commit()
    return bool(getattr(result, "rowcount", 0) == 1)


async def decide_basis(
    session: AsyncSession,
    *,
    client_id: str,
    subject_id: str,
    record_type: str,
    fields: Sequence[str],
    purpose: str,
    legal_basis: str | None,
    now: datetime | None = None,
    audit: AuditSink | None = None,
) -> Basis:
    """The basis for this pull, or a refusal (``no_basis``, ``consent_revoked``, ...).

    ``legal_basis`` is what the caller's authority declares for this purpose: the access
    right's citation on the data path, the procedure component's citation in a filing.
    Without one, an ACTIVE consent that covers the pull is spent (one use, committed at once
    in a short transaction of its own) and named in the returned basis. A consent found past
    its expiry is marked EXPIRED on the way (an audit event through ``audit`` when given).
    ``now`` is for tests; it defaults to the current time.
    """
    if legal_basis:
        return Basis(kind="legal", reference=legal_basis)
    moment = as_utc(now) if now is not None else utcnow()
    async with _own_session(session) as own:
        consents = await _consents_of(own, subject_id, client_id)
        # End the read transaction before writing: a SQLite reader cannot upgrade a stale
        # snapshot to a writer.
        await own.commit()
        await expire_due(own, consents, moment, audit=audit)
        # Kept even when the pull is refused: the consent is expired whatever happens next.
        await own.commit()
        verdicts = _verdicts(
            consents, record_type=record_type, fields=fields, purpose=purpose, now=moment
        )
        for verdict in verdicts:
            if verdict.code is not None:
                break
            if await _spend(own, verdict.consent, moment):
                return Basis(kind="consent", reference=verdict.consent.id)
        if verdicts and verdicts[0].code is None:
            # Every usable consent was spent or changed by a concurrent pull: judge again on
            # what the database holds now.
            consents = await _consents_of(own, subject_id, client_id)
            await own.commit()
            verdicts = _verdicts(
                consents, record_type=record_type, fields=fields, purpose=purpose, now=moment
            )
        best = verdicts[0] if verdicts else None
    error, detail, extra = _refusal(best, record_type=record_type, purpose=purpose)
    raise error(detail, extra=extra)


async def check_consent(
    session: AsyncSession,
    *,
    client_id: str,
    subject_id: str,
    record_type: str,
    fields: Sequence[str],
    purpose: str,
    now: datetime | None = None,
) -> ConsentCheck:
    """Would a consent allow this pull now? Read-only: no use is counted, nothing changes.

    For a filing's plan ("consent present" or "consent missing") and for previews. The
    answer can be stale a moment later; only :func:`decide_basis` decides a pull.
    """
    moment = as_utc(now) if now is not None else utcnow()
    async with _own_session(session) as own:
        consents = await _consents_of(own, subject_id, client_id)
        verdicts = _verdicts(
            consents, record_type=record_type, fields=fields, purpose=purpose, now=moment
        )
    best = verdicts[0] if verdicts else None
    if best is not None and best.code is None:
        return ConsentCheck(best.consent.id, None, best.detail)
    error, detail, extra = _refusal(best, record_type=record_type, purpose=purpose)
    return ConsentCheck(best.consent.id if best else None, error.code, detail, extra)
