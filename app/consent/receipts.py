"""Consent receipts: Kantara Consent Receipt v1.1 / ISO/IEC TS 27560 fields, signed as a
compact JWS (EdDSA, Ed25519) so a citizen can prove what they agreed to.

The signing key lives in the data folder (generated on first use, shared by the instances
that share the folder); its public half is published as a JWKS at
``GET /v1/consents/receipt-keys``. The receipt is built only from what does not change after
the consent is given, so the same consent always yields the same signed document (Ed25519
signatures are deterministic). ``docs/consent-receipt.md`` documents the format.
"""

from __future__ import annotations

import base64
import hashlib
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app.config import Settings
from app.consent.models import Consent
from app.security.keyfiles import load_or_create_ed25519
from dictionary import Dictionary

RECEIPT_KEY_FILE = "consent-receipt.pem"
RECEIPT_VERSION = "KI-CR-v1.1.0"
JURISDICTION = "VN"
POLICY_URL = "https://declare-once.gov.vn/policy/consent"
HUB_OPERATOR = {
    "piiController": "Declare-Once Hub operator",
    "contact": "Data protection officer, Declare-Once Hub",
    "email": "dpo@declare-once.gov.vn",
    "address": {"country": "VN"},
    "url": "https://declare-once.gov.vn",
    "onBehalf": False,
}
COLLECTION_METHODS = {
    "portal": "Online, on the public-service portal, confirmed by the applicant",
    "counter": "In person at a one-stop counter, taken by an officer",
    "app": "In the citizen's mobile application",
    "kiosk": "At a self-service kiosk",
}
SENSITIVE = "sensitive_personal"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no whitespace, UTF-8: the bytes that are signed."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


class ReceiptSigner:
    """Signs receipts with one Ed25519 key and publishes it as an OKP JWK."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key
        raw = private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self.x = b64url(raw)
        # RFC 7638 thumbprint: the key id anyone can recompute from the published key.
        thumbprint_input = canonical_json({"crv": "Ed25519", "kty": "OKP", "x": self.x})
        self.kid = b64url(hashlib.sha256(thumbprint_input).digest())

    def jwk(self) -> dict[str, str]:
        return {
            "kty": "OKP",
            "crv": "Ed25519",
            "x": self.x,
            "kid": self.kid,
            "alg": "EdDSA",
            "use": "sig",
        }

    def sign(self, payload: dict[str, Any]) -> str:
        header = {"alg": "EdDSA", "kid": self.kid, "typ": "JWT"}
        signing_input = f"{b64url(canonical_json(header))}.{b64url(canonical_json(payload))}"
        signature = self._key.sign(signing_input.encode("ascii"))
        return f"{signing_input}.{b64url(signature)}"


_signers: dict[Path, ReceiptSigner] = {}
_signers_lock = threading.Lock()


def receipt_signer(settings: Settings) -> ReceiptSigner:
    """The signer of this data folder (key material only; no consent state is cached)."""
    path = (settings.data_dir / RECEIPT_KEY_FILE).resolve()
    with _signers_lock:
        signer = _signers.get(path)
        if signer is None or not path.exists():
            signer = ReceiptSigner(load_or_create_ed25519(path))
            _signers[path] = signer
        return signer


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _pii_categories(
    dictionary: Dictionary, scope: list[dict[str, Any]]
) -> tuple[list[str], list[str]]:
    """Every consented field as ``Record.field``, and the sensitive ones' dictionary elements."""
    categories: list[str] = []
    sensitive: list[str] = []
    for item in scope:
        record_type = dictionary.record_types.get(item["record_type"])
        for name in item["fields"]:
            categories.append(f"{item['record_type']}.{name}")
            if record_type is None:
                continue
            spec = next(
                (f for v in reversed(record_type.versions) if (f := v.field(name)) is not None),
                None,
            )
            element = dictionary.elements.get(spec.element) if spec else None
            if element is not None and element.sensitivity == SENSITIVE:
                sensitive.append(element.id)
    return categories, sorted(set(sensitive))


def build_receipt(
    consent: Consent,
    *,
    dictionary: Dictionary,
    principal_reference: str,
    key_id: str,
) -> dict[str, Any]:
    """The receipt of one consent. ``principal_reference`` is the subject's keyed HMAC."""
    categories, sensitive = _pii_categories(dictionary, consent.scope)
    if consent.fetch_type == "ONE_TIME":
        frequency = "once"
    else:
        frequency = f"at most {consent.max_uses_per_period} per {consent.period}"
    termination = (
        f"Ends at {_iso(consent.valid_until)}, or earlier when the citizen revokes it at "
        "POST /v1/me/consents/{id}/revoke or the agency revokes it; "
        "a revocation blocks the next pull at once."
    )
    return {
        "version": RECEIPT_VERSION,
        "jurisdiction": JURISDICTION,
        "consentTimestamp": int(consent.captured_at.timestamp()),
        "collectionMethod": COLLECTION_METHODS.get(consent.channel, consent.channel),
        "consentReceiptID": consent.receipt_id,
        "publicKey": key_id,
        "language": consent.language,
        "piiPrincipalId": principal_reference,
        "piiControllers": [
            HUB_OPERATOR,
            {
                "piiController": consent.agency,
                "contact": f"{consent.agency} (API client {consent.client_id})",
                "address": {"country": "VN"},
                "onBehalf": False,
            },
        ],
        "policyUrl": POLICY_URL,
        "services": [
            {
                "service": consent.purpose,
                "purposes": [
                    {
                        "purpose": (
                            f"Pull the listed state-held data for procedure {consent.purpose} "
                            "so that the applicant does not declare it again"
                        ),
                        "purposeCategory": ["Public service delivery"],
                        "consentType": "EXPLICIT",
                        "piiCategory": categories,
                        "primaryPurpose": True,
                        "termination": termination,
                        "thirdPartyDisclosure": False,
                        "thirdPartyName": None,
                    }
                ],
            }
        ],
        "sensitive": bool(sensitive),
        "spiCat": sensitive,
        "declareOnce": {
            "consentId": consent.id,
            "purpose": consent.purpose,
            "scope": consent.scope,
            "validFrom": _iso(consent.valid_from),
            "validUntil": _iso(consent.valid_until),
            "fetchType": consent.fetch_type,
            "frequency": frequency,
            "maxUsesPerPeriod": consent.max_uses_per_period,
            "period": consent.period,
            "channel": consent.channel,
            "capturedAt": _iso(consent.captured_at),
            "capturedBy": consent.captured_by,
        },
    }
