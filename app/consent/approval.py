"""A citizen-signed consent approval: an eID token whose claims bind one consent's hash.

A client records a consent PENDING; it becomes ACTIVE when the citizen approves it in their
own view, or when the client sends, with the consent, an approval the citizen signed in
their eID app: a token of the trusted eID issuer whose ``sub`` is the consent's subject and
whose ``consent_sha256`` claim is :func:`consent_hash` of what the client records. The hash
covers what the citizen agrees to (who may pull which fields about whom, for what, how
often and until when) and nothing the client chooses afterwards; docs/consent-receipt.md
states it byte by byte so an eID app can compute it.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import orjson

from app.consent.errors import ConsentApprovalInvalid
from app.consent.schemas import ConsentCreate
from app.errors import Unauthenticated
from app.security.citizen import CitizenTokenVerifier
from app.timestamps import as_utc

APPROVAL_CLAIM = "consent_sha256"


def rfc3339_utc(moment: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SS[.ffffff]Z`` in UTC; a moment without a zone is UTC."""
    utc = as_utc(moment).astimezone(UTC)
    text = utc.strftime("%Y-%m-%dT%H:%M:%S")
    if utc.microsecond:
        text += f".{utc.microsecond:06d}"
    return text + "Z"


def consent_terms(client_id: str, body: ConsentCreate) -> dict[str, Any]:
    """What the citizen agrees to, as the object whose canonical JSON is hashed."""
    periodic = body.fetch_type.value == "PERIODIC"
    return {
        "client_id": client_id,
        "subject": body.subject,
        "purpose": body.purpose,
        "scope": [
            {"record_type": item.record_type, "fields": list(dict.fromkeys(item.fields))}
            for item in body.scope
        ],
        "validity": {
            "start": rfc3339_utc(body.validity.start) if body.validity.start else None,
            "expiry": rfc3339_utc(body.validity.expiry),
        },
        "fetch_type": body.fetch_type.value,
        "max_uses_per_period": (body.max_uses_per_period or 1) if periodic else 1,
        "period": body.period.value if periodic and body.period else None,
    }


def consent_hash(client_id: str, body: ConsentCreate) -> str:
    """Lower-case hex SHA-256 of the terms' canonical JSON (sorted keys, no spaces, UTF-8)."""
    canonical = orjson.dumps(consent_terms(client_id, body), option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()


def verify_approval(
    verifier: CitizenTokenVerifier, token: str, *, client_id: str, body: ConsentCreate
) -> str:
    """The consent hash ``token`` approves, if it is the subject's signed approval of exactly
    ``body``.

    Every failure is the same 403 ``consent_approval_invalid``, its ``reason`` saying which:
    ``invalid_token``, ``expired``, ``wrong_subject`` or ``hash_mismatch`` (``already_used``
    is the recording's: one approval activates one consent).
    """
    try:
        claims = verifier.verified_claims(token)
    except Unauthenticated as exc:
        reason = "expired" if exc.code == "citizen_token_expired" else "invalid_token"
        raise ConsentApprovalInvalid(
            "The approval is not a valid eID token of the trusted issuer.",
            extra={"reason": reason},
        ) from None
    if claims["sub"] != body.subject:
        raise ConsentApprovalInvalid(
            "The approval was signed by another citizen than the consent's subject.",
            extra={"reason": "wrong_subject"},
        )
    digest = consent_hash(client_id, body)
    if claims.get(APPROVAL_CLAIM) != digest:
        raise ConsentApprovalInvalid(
            "The approval does not bind this consent: its consent_sha256 differs.",
            extra={"reason": "hash_mismatch"},
        )
    return digest
