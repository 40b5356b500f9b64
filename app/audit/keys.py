"""The sealer's Ed25519 keys: kept in data_dir, generated when missing, rotated on demand.

The signing key lives in ``data_dir/audit-keys/signing-key.json``. Every public key that
ever signed a seal is published (table ``audit_keys``, ``GET /v1/audit/public-key`` and
``data_dir/audit-keys/public-keys.json``) and stays published after rotation, so old seals
keep verifying. A key id is the first 32 hex digits of SHA-256 over the raw 32-byte public
key, so an id cannot silently name another key.
"""

from __future__ import annotations

import base64
import contextlib
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from hashlib import sha256
from pathlib import Path
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.models import AuditKey
from app.audit.serialize import format_ts
from app.timestamps import utcnow

ALGORITHM = "Ed25519"
KEY_DIR = "audit-keys"
SIGNING_KEY_FILE = "signing-key.json"
PUBLIC_KEYS_FILE = "public-keys.json"


class SealingKeyError(RuntimeError):
    """The sealer's key is unusable; the hub refuses to seal (and to start) with it."""


def key_id_of(public_raw: bytes) -> str:
    return sha256(public_raw).hexdigest()[:32]


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


@dataclass(frozen=True)
class SigningKey:
    key_id: str
    private_key: Ed25519PrivateKey
    public_raw: bytes
    created_at: datetime

    def sign(self, data: bytes) -> str:
        return base64.b64encode(self.private_key.sign(data)).decode()

    @property
    def public_b64(self) -> str:
        return base64.b64encode(self.public_raw).decode()

    def public_entry(self, retired_at: datetime | None = None) -> dict[str, Any]:
        return {
            "key_id": self.key_id,
            "algorithm": ALGORITHM,
            "public_key": self.public_b64,
            "created_at": format_ts(self.created_at),
            "retired_at": format_ts(retired_at) if retired_at else None,
        }


class PublicKeys(dict[str, Ed25519PublicKey]):
    """Public keys by key id, with each retired key's ``retired_at`` (canonical timestamp,
    ``format_ts``): a seal or anchor signed after it is invalid (docs/audit.md, section 5)."""

    def __init__(self, *args: Any, retired_at: Mapping[str, str] | None = None) -> None:
        super().__init__(*args)
        self.retired_at: dict[str, str] = dict(retired_at or {})


def key_dir(data_dir: Path) -> Path:
    return Path(data_dir) / KEY_DIR


def _write_temp(path: Path, data: bytes) -> str:
    """``data`` in a new owner-only file next to ``path``, on disk; returns its name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
    except BaseException:
        os.unlink(tmp)
        raise
    return tmp


def _write_exclusive(path: Path, data: bytes) -> bool:
    """Write ``path`` atomically unless it exists (several instances may start together)."""
    tmp = _write_temp(path, data)
    try:
        os.link(tmp, path)
    except FileExistsError:
        return False
    finally:
        os.unlink(tmp)
    return True


def _replace(path: Path, data: bytes) -> None:
    os.replace(_write_temp(path, data), path)


def _new_key_document() -> bytes:
    private = Ed25519PrivateKey.generate()
    seed = private.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    return orjson.dumps(
        {
            "key_id": key_id_of(_raw_public(private.public_key())),
            "algorithm": ALGORITHM,
            "private_key": base64.b64encode(seed).decode(),
            "created_at": format_ts(utcnow()),
        },
        option=orjson.OPT_INDENT_2,
    )


def parse_signing_key(data: bytes, source: str) -> SigningKey:
    """Read and check a signing-key document; any defect is a :class:`SealingKeyError`."""
    try:
        doc = orjson.loads(data)
        seed = base64.b64decode(doc["private_key"], validate=True)
        private = Ed25519PrivateKey.from_private_bytes(seed)
        claimed = str(doc["key_id"])
        created_at = datetime.fromisoformat(doc["created_at"].replace("Z", "+00:00"))
    except Exception as exc:
        raise SealingKeyError(
            f"The audit sealing key {source} is not a valid Ed25519 key document "
            f"({type(exc).__name__}: {exc}). Restore it, or move it away to generate a new "
            "key (old seals stay verifiable by their published public keys)."
        ) from None
    if doc.get("algorithm", ALGORITHM) != ALGORITHM:
        raise SealingKeyError(f"The audit sealing key {source} is not an {ALGORITHM} key.")
    public_raw = _raw_public(private.public_key())
    actual = key_id_of(public_raw)
    if claimed != actual:
        raise SealingKeyError(
            f"The audit sealing key {source} claims key id {claimed} but its public key has "
            f"id {actual}; the file does not match its published key id."
        )
    probe = b"declare-once sealing key self-test"
    try:
        private.public_key().verify(private.sign(probe), probe)
    except InvalidSignature:  # pragma: no cover - a broken crypto backend
        raise SealingKeyError(f"The audit sealing key {source} fails a self-test.") from None
    return SigningKey(actual, private, public_raw, created_at)


def load_signing_key(data_dir: Path, *, create: bool = True) -> SigningKey:
    path = key_dir(data_dir) / SIGNING_KEY_FILE
    if not path.exists():
        if not create:
            raise SealingKeyError(f"No audit sealing key at {path}.")
        _write_exclusive(path, _new_key_document())
    key = parse_signing_key(path.read_bytes(), str(path))
    remember_public(data_dir, key)
    return key


def rotate_signing_key(data_dir: Path) -> tuple[SigningKey | None, SigningKey]:
    """Make a new signing key; the old private key is destroyed, its public key stays."""
    path = key_dir(data_dir) / SIGNING_KEY_FILE
    old = parse_signing_key(path.read_bytes(), str(path)) if path.exists() else None
    if old is not None:
        remember_public(data_dir, old, retired_at=utcnow())
    _replace(path, _new_key_document())
    new = parse_signing_key(path.read_bytes(), str(path))
    remember_public(data_dir, new)
    return old, new


def remember_public(data_dir: Path, key: SigningKey, retired_at: datetime | None = None) -> None:
    """Keep the local copy of the published keys (for offline verification) in step; a
    rotation writes the key's ``retired_at`` again once the database holds it."""
    path = key_dir(data_dir) / PUBLIC_KEYS_FILE
    doc: dict[str, Any] = {"keys": []}
    if path.exists():
        with contextlib.suppress(orjson.JSONDecodeError):
            doc = orjson.loads(path.read_bytes())
    keys = {k["key_id"]: k for k in doc.get("keys", [])}
    entry = keys.get(key.key_id) or key.public_entry()
    if retired_at is not None:
        entry["retired_at"] = format_ts(retired_at)
    keys[key.key_id] = entry
    if retired_at is None:
        doc["current"] = key.key_id
    doc["keys"] = sorted(keys.values(), key=lambda k: k["created_at"])
    _replace(path, orjson.dumps(doc, option=orjson.OPT_INDENT_2))


async def publish_key(session: AsyncSession, key: SigningKey) -> None:
    """Publish the key in the database (once); refuse a key that clashes or was retired."""
    row = await session.get(AuditKey, key.key_id)
    if row is None:
        session.add(
            AuditKey(
                key_id=key.key_id,
                algorithm=ALGORITHM,
                public_key=key.public_b64,
                created_at=key.created_at,
                retired_at=None,
            )
        )
        await session.commit()
        return
    if row.public_key != key.public_b64:
        raise SealingKeyError(
            f"The published key {key.key_id} differs from the sealing key file; refusing to seal."
        )
    if row.retired_at is not None:
        raise SealingKeyError(
            f"The sealing key {key.key_id} was retired at {row.retired_at}; rotate to a new key."
        )


async def retire_key(session: AsyncSession, key_id: str) -> None:
    row = await session.get(AuditKey, key_id)
    if row is not None and row.retired_at is None:
        row.retired_at = utcnow()
        await session.commit()


async def published_keys(session: AsyncSession) -> list[AuditKey]:
    return list((await session.scalars(select(AuditKey).order_by(AuditKey.created_at))).all())


async def published_public_keys(session: AsyncSession) -> PublicKeys:
    """Every published key by key id, each checked against its id, ready for verifying."""
    return public_keys_from_document(key_document(await published_keys(session), None))


def key_document(rows: Iterable[AuditKey], current: str | None) -> dict[str, Any]:
    """The public-key document (``GET /v1/audit/public-key``; ``--public-key FILE``)."""
    return {
        "algorithm": ALGORITHM,
        "key_id_rule": "first 32 hex digits of SHA-256(raw 32-byte public key)",
        "current": current,
        "keys": [
            {
                "key_id": r.key_id,
                "algorithm": r.algorithm,
                "public_key": r.public_key,
                "created_at": format_ts(r.created_at),
                "retired_at": format_ts(r.retired_at) if r.retired_at else None,
            }
            for r in rows
        ],
    }


def public_keys_from_document(doc: Mapping[str, Any]) -> PublicKeys:
    keys = PublicKeys()
    for entry in doc.get("keys", []):
        raw = base64.b64decode(entry["public_key"], validate=True)
        if key_id_of(raw) != entry["key_id"]:
            raise ValueError(f"public key {entry['key_id']} does not match its key id")
        keys[entry["key_id"]] = Ed25519PublicKey.from_public_bytes(raw)
        if entry.get("retired_at"):
            keys.retired_at[entry["key_id"]] = format_ts(entry["retired_at"])
    return keys


def load_public_keys(path: Path) -> PublicKeys:
    """Public keys from a key document (JSON) or a PEM file of one or more public keys."""
    data = Path(path).read_bytes()
    if data.lstrip().startswith(b"{"):
        return public_keys_from_document(orjson.loads(data))
    # A PEM file carries no retirement times: only a key document can tell a verifier them.
    keys = PublicKeys()
    marker = b"-----END PUBLIC KEY-----"
    for block in data.split(marker):
        if b"-----BEGIN PUBLIC KEY-----" not in block:
            continue
        loaded = serialization.load_pem_public_key(block + marker)
        if not isinstance(loaded, Ed25519PublicKey):
            raise ValueError(f"{path} holds a key that is not Ed25519")
        keys[key_id_of(_raw_public(loaded))] = loaded
    if not keys:
        raise ValueError(f"{path} holds no public key")
    return keys
