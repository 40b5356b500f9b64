"""``declare-once audit``: seal, verify (database and file), export, archive, rotate-key."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from app.audit.service import AuditLog, load_subject_key
from app.cli import cli
from app.config import Settings
from app.db import create_engine, create_sessionmaker
from app.events import AuditEntry, EventKind, Outcome


async def _append(settings: Settings, count: int) -> None:
    engine = create_engine(settings.database_url)
    audit = AuditLog(create_sessionmaker(engine), load_subject_key(settings), settings=settings)
    try:
        for i in range(count):
            await audit.append(
                AuditEntry(kind=EventKind.DATA_PULL, outcome=Outcome.DENIED, fields=[f"f{i}"])
            )
    finally:
        await audit.stop()
        await engine.dispose()


def test_the_command_line_seals_verifies_exports_archives_and_rotates(
    sqlite_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "hub.db"
    shutil.copyfile(sqlite_template, db)
    url = f"sqlite+aiosqlite:///{db}"
    monkeypatch.setenv("HUB_DATABASE_URL", url)
    monkeypatch.setenv("HUB_DATA_DIR", str(tmp_path / "data"))
    settings = Settings(audit_sealer=False)
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(cli, ["audit", *args])
        assert result.exit_code == code, result.output
        return result.output

    asyncio.run(_append(settings, 25))
    assert "1 seal(s) made" in run("seal")
    assert "OK" in run("verify")
    export = tmp_path / "log.jsonl"
    run("export", "--output", str(export))
    assert "OK" in run("verify", "--file", str(export))
    assert "archived seals 0..0 (25 events)" in run("archive", "--older-than-days", "0")
    assert "OK" in run("verify")
    asyncio.run(_append(settings, 5))
    run("rotate-key")
    run("seal")
    keys = tmp_path / "keys.json"
    run("public-key", "--output", str(keys))
    assert len(orjson.loads(keys.read_bytes())["keys"]) == 2
    assert "OK" in run("verify", "--public-key", str(keys))
    with sqlite3.connect(db) as conn:
        seq = conn.execute("SELECT max(seq) FROM audit_events").fetchone()[0]
        conn.execute("UPDATE audit_events SET kind = 'admin.nothing' WHERE seq = ?", (seq,))
    tampered = run("verify", "--public-key", str(keys), "--json", code=1)
    assert "event_hash_mismatch" in tampered and f'"seq": {seq}' in tampered
