"""API key format: ``doh_<prefix>_<secret>``.

The prefix is public (it identifies the key in lists and logs); the secret is 32 random
bytes. Only the SHA-256 of the whole key is stored: the secret has 256 bits of entropy, so a
slow password hash would add latency to every request without adding protection.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

KEY_SCHEME = "doh"
PREFIX_BYTES = 6
SECRET_BYTES = 32


@dataclass(frozen=True)
class NewKey:
    prefix: str
    plaintext: str
    key_hash: str


def generate_key() -> NewKey:
    prefix = secrets.token_hex(PREFIX_BYTES)
    secret = secrets.token_urlsafe(SECRET_BYTES)
    plaintext = f"{KEY_SCHEME}_{prefix}_{secret}"
    return NewKey(prefix=prefix, plaintext=plaintext, key_hash=hash_key(plaintext))


def hash_key(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def parse_prefix(plaintext: str) -> str | None:
    """The prefix of a well-formed key, or None for anything else."""
    parts = plaintext.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_SCHEME or len(parts[1]) != PREFIX_BYTES * 2:
        return None
    if not parts[2]:
        return None
    return parts[1]


def matches(plaintext: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_key(plaintext), stored_hash)
