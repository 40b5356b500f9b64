"""Ed25519 key pairs kept as PEM files in the data folder (eID mock issuer, receipt signer).

The first instance to start creates the file with O_EXCL, so several instances sharing a
data folder agree on one key; the file is readable by its owner only.
"""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def load_or_create_ed25519(path: Path) -> Ed25519PrivateKey:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        try:
            with path.open("xb") as handle:
                handle.write(pem)
            path.chmod(0o600)
        except FileExistsError:
            pass  # another instance created it first; use theirs
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 private key")
    return key
