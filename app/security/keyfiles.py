"""Secrets kept as files in the data folder (subject HMAC key, connector-secret key, the
mock eID issuer's and the receipt signer's Ed25519 keys), and the data folder's modes.

The first instance to start creates each file (a finished file linked into place), so
several instances sharing a data folder agree on one secret; files are owner-only (0600).

The data folder also holds the SQLite database (filings and consents in clear), demo
credentials and audit archives: it is 0700 and every file in it 0600. The CLI runs with a
0077 umask, and the hub re-applies the modes to what is already there each time it starts.
SQLite creates its -wal and -shm files with the database file's mode, so a 0600 database
keeps them private too.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.engine import make_url

PRIVATE_UMASK = 0o077
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
SQLITE_COMPANIONS = ("", "-wal", "-shm", "-journal")


def restrict_umask() -> None:
    """Files and folders this process creates from now on are its owner's only."""
    os.umask(PRIVATE_UMASK)


def private_dir(path: Path) -> Path:
    """``path`` as an existing folder that only its owner may list or enter."""
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
    os.chmod(path, PRIVATE_DIR_MODE)
    return path


def make_private(root: Path) -> None:
    """``root`` and every folder under it 0700, every file 0600 (symbolic links untouched).

    A data folder set to the file system's root or a home folder is refused: it would take
    the modes of everything else kept there."""
    resolved = root.resolve()
    if resolved == Path(resolved.anchor) or resolved == Path.home().resolve():
        raise ValueError(f"{root} cannot be the data folder: give it a folder of its own")
    private_dir(root)
    for folder, dirs, files in os.walk(root):
        for name in dirs:
            _chmod(Path(folder) / name, PRIVATE_DIR_MODE)
        for name in files:
            _chmod(Path(folder) / name, PRIVATE_FILE_MODE)


def sqlite_files(database_url: str) -> list[Path]:
    """The SQLite database of ``database_url`` and its companion files; none for a server."""
    url = make_url(database_url)
    if not url.get_backend_name().startswith("sqlite"):
        return []
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return []
    return [Path(database + suffix) for suffix in SQLITE_COMPANIONS]


def make_database_private(database_url: str) -> None:
    """The SQLite file (and -wal, -shm) owner-only, wherever it lives. Called before the
    first connection, so the -wal and -shm files SQLite creates next inherit 0600."""
    for path in sqlite_files(database_url):
        if path.exists():
            _chmod(path, PRIVATE_FILE_MODE)


def _chmod(path: Path, mode: int) -> None:
    try:
        if not stat.S_ISLNK(os.lstat(path).st_mode):
            os.chmod(path, mode)
    except FileNotFoundError:
        pass  # removed meanwhile (a temporary file of another instance)


def read_or_create(path: Path, make: Callable[[], bytes]) -> bytes:
    """The file's bytes, writing ``make()`` into it first if it does not exist yet.

    The new secret is written whole to a private temporary file and then linked into place,
    so an instance starting at the same moment sees either no file or the finished one.
    """
    if not path.exists():
        private_dir(path.parent)
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


def protect_at_rest(data_dir: Path, database_url: str) -> None:
    """The data folder private (0700, files 0600), and the SQLite database wherever it is."""
    make_private(data_dir)
    make_database_private(database_url)
