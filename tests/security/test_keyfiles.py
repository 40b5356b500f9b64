"""Secrets in the data folder: created once, whole, owner-only; every instance reads the same."""

from __future__ import annotations

import stat
from pathlib import Path

from app.security.keyfiles import load_or_create_ed25519, read_or_create


def test_the_first_secret_written_is_the_one_every_later_reader_gets(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "secret.key"
    first = read_or_create(path, lambda: b"first")
    second = read_or_create(path, lambda: b"second")
    assert (first, second) == (b"first", b"first")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # The temporary file the secret was written to is gone; only the secret remains.
    assert [p.name for p in path.parent.iterdir()] == ["secret.key"]


def test_an_ed25519_key_file_is_reused_not_regenerated(tmp_path: Path) -> None:
    path = tmp_path / "signer.pem"
    created = load_or_create_ed25519(path).public_key().public_bytes_raw()
    again = load_or_create_ed25519(path).public_key().public_bytes_raw()
    assert created == again
