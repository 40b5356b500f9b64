"""Citizens: eID tokens (JWTs signed by a configured issuer) and the mock issuer of ``make run``.

A citizen token is an EdDSA (Ed25519) JWT with ``iss`` = the configured issuer, ``aud`` =
the hub, ``sub`` = the citizen ID, and ``exp``. The hub only verifies; a real deployment
configures the national eID issuer's public key (``HUB_EID_PUBLIC_KEY_PEM``). When no key is
configured the hub runs its own mock issuer, whose key pair lives in the data folder so
``declare-once citizen-token`` and the server agree.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from app.config import Settings
from app.security.errors import CitizenTokenExpired, InvalidCitizenToken
from app.security.keyfiles import load_or_create_ed25519

ISSUER_KEY_FILE = "eid-issuer.pem"
ALGORITHM = "EdDSA"


@dataclass(frozen=True, slots=True)
class CitizenPrincipal:
    """A citizen authenticated by an eID token. ``citizen_id`` is the 12-digit ID."""

    citizen_id: str
    token_id: str | None = None


def _mock_issuer_key(settings: Settings) -> Ed25519PrivateKey:
    return load_or_create_ed25519(settings.data_dir / ISSUER_KEY_FILE)


def issuer_public_key(settings: Settings) -> Ed25519PublicKey:
    """The key citizen tokens must verify under: the configured one, else the mock issuer's."""
    if settings.eid_public_key_pem:
        key = serialization.load_pem_public_key(settings.eid_public_key_pem.encode())
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("HUB_EID_PUBLIC_KEY_PEM is not an Ed25519 public key")
        return key
    return _mock_issuer_key(settings).public_key()


def issue_citizen_token(
    settings: Settings,
    citizen_id: str,
    ttl_seconds: int = 8 * 3600,
    extra_claims: dict[str, Any] | None = None,
) -> str:
    """A token from the mock eID issuer (demo and tests only; production never issues).

    ``extra_claims`` adds claims, such as the consent hash of a signed consent approval.
    """
    if settings.eid_public_key_pem:
        raise RuntimeError("a real eID issuer is configured; the hub does not issue its tokens")
    now = int(time.time())
    claims = {
        "iss": settings.eid_issuer,
        "aud": settings.eid_audience,
        "sub": citizen_id,
        "iat": now,
        "exp": now + ttl_seconds,
        "jti": f"{now:x}-{citizen_id[-4:]}",
        **(extra_claims or {}),
    }
    return jwt.encode(claims, _mock_issuer_key(settings), algorithm=ALGORITHM)


class CitizenTokenVerifier:
    """Verifies eID tokens against one issuer key, audience and issuer."""

    def __init__(self, settings: Settings) -> None:
        self._key = issuer_public_key(settings)
        self._issuer = settings.eid_issuer
        self._audience = settings.eid_audience

    def verify(self, token: str) -> CitizenPrincipal:
        claims = self.verified_claims(token)
        jti = claims.get("jti")
        return CitizenPrincipal(
            citizen_id=claims["sub"], token_id=jti if isinstance(jti, str) else None
        )

    def verified_claims(self, token: str) -> dict[str, Any]:
        """Every claim of a token whose signature, issuer, audience, expiry and subject hold."""
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                options={"require": ["exp", "sub", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise CitizenTokenExpired("The eID token has expired.") from None
        except jwt.PyJWTError:
            raise InvalidCitizenToken("The eID token is not valid.") from None
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject.isdigit() or len(subject) != 12:
            raise InvalidCitizenToken("The eID token names no citizen.")
        return dict(claims)
