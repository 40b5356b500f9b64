"""Alembic owns the schema: the migrations build exactly what the models declare."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from app import migrate
from app.db import create_engine
from app.models import Base


def _diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_the_migrated_schema_matches_the_models(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            differences = await connection.run_sync(_diff)
    finally:
        await engine.dispose()
    assert differences == []


async def test_the_database_is_at_the_head_revision(database_url: str) -> None:
    assert await migrate.current_revision(database_url) == migrate.head_revision()


def test_serve_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    env = {"HUB_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}", "PATH": ""}
    result = subprocess.run(
        [sys.executable, "-m", "app", "serve", "--port", "18999"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**env, "HUB_DATA_DIR": str(tmp_path / "data")},
        check=False,
    )
    assert result.returncode == 2
    assert "not migrated" in result.stdout + result.stderr
    assert "declare-once db upgrade" in result.stdout + result.stderr
