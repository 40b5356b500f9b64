"""Secrets kept as files in the data folder (subject HMAC key, connector-secret key, the
mock eID issuer's and the receipt signer's Ed25519 keys).

The first instance to start creates each file (a finished file linked into place), so
several instances sharing a data folder agree on one secret; files are owner-only (0600).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def read_or_create(path: Path, make: Callable[[], bytes]) -> bytes:
    """The file's bytes, writing ``make()`` into it first if it does not exist yet.

    The new secret is written whole to a private temporary file and then linked into place,
    so an instance starting at the same moment sees either no file or the finished one.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(make())
                handle.flush()
                os.fsync(handle.fileno())
            os.link(temporary, path)
        except FileExistsError:
            pass  # another instance created it first; use theirs
        finally:
            os.unlink(temporary)
    return path.read_bytes()


def _new_ed25519_pem() -> bytes:
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def load_or_create_ed25519(path: Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(read_or_create(path, _new_ed25519_pem), None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 private key")
    return key
