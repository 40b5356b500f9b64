"""Standard Webhooks signatures (https://www.standardwebhooks.com/).

Every webhook carries ``webhook-id``, ``webhook-timestamp`` (Unix seconds) and
``webhook-signature``: space-separated ``<version>,<base64 signature>`` over
``{id}.{timestamp}.{body}``. ``v1`` is HMAC-SHA256 with the subscription's secret (given to
the subscriber once, as ``whsec_<base64>``); ``v1a`` is Ed25519 with the hub's signing key
(the subscriber verifies with the public key the API publishes). During a secret rotation
both the new and the previous secret sign, so a receiver that has either verifies.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app.security.keyfiles import load_or_create_ed25519

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """A fresh signing secret, ``whsec_`` and 24 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def signed_content(message_id: str, timestamp: int, body: bytes) -> bytes:
    return f"{message_id}.{timestamp}.".encode() + body


def sign(
    message_id: str,
    timestamp: int,
    body: bytes,
    secrets_in_use: Iterable[str],
    ed25519: Ed25519PrivateKey | None = None,
) -> str:
    """The ``webhook-signature`` header: one ``v1`` per secret, and ``v1a`` if a key is given."""
    content = signed_content(message_id, timestamp, body)
    parts = [
        "v1," + base64.b64encode(hmac.new(_key(s), content, hashlib.sha256).digest()).decode()
        for s in secrets_in_use
    ]
    if ed25519 is not None:
        parts.append("v1a," + base64.b64encode(ed25519.sign(content)).decode())
    return " ".join(parts)


KEY_FILE = "webhook-signing.key"
PUBLIC_KEY_PREFIX = "whpk_"


def load_signing_key(data_dir: Path) -> Ed25519PrivateKey:
    """The hub's Ed25519 webhook key (``v1a``), in the data folder every instance shares."""
    return load_or_create_ed25519(data_dir / KEY_FILE)


def public_key_text(key: Ed25519PrivateKey) -> str:
    """The public key as Standard Webhooks writes it: ``whpk_`` and the raw key in base64."""
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return PUBLIC_KEY_PREFIX + base64.b64encode(raw).decode()
