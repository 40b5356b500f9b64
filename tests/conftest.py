"""Shared fixtures: the hub on SQLite always, and on PostgreSQL when HUB_TEST_POSTGRES_URL is set.

Every test that asks for ``database_url`` (or anything built on it: ``settings``, ``app``,
``client``) runs once per backend. Migrations run once per backend per session; each test
then gets a fresh SQLite file copied from the migrated template, or a truncated PostgreSQL
database.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.engine import make_url

from app import migrate
from app.config import Settings
from app.db import create_engine
from app.main import create_app
from app.models import Base
from app.security import service as security_service
from app.security.roles import Role
from tests.helpers.clients import ApiCredentials, MakeClient

POSTGRES_URL = os.environ.get("HUB_TEST_POSTGRES_URL")
REQUIRE_POSTGRES = os.environ.get("HUB_TEST_REQUIRE_POSTGRES") == "1"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "hub.db"
    migrate.upgrade(f"sqlite+aiosqlite:///{path}")
    return path


async def _admin_execute(base_url: str, statement: str) -> None:
    engine = create_engine(base_url, isolation_level="AUTOCOMMIT", pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A database of its own for this test session, migrated, dropped at the end."""
    if not POSTGRES_URL:
        if REQUIRE_POSTGRES:
            pytest.fail("HUB_TEST_REQUIRE_POSTGRES=1 but HUB_TEST_POSTGRES_URL is not set")
        pytest.skip("HUB_TEST_POSTGRES_URL is not set")
    name = f"hub_test_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin_execute(POSTGRES_URL, f'CREATE DATABASE "{name}"'))
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    migrate.upgrade(url)
    yield url
    asyncio.run(_admin_execute(POSTGRES_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


_TABLES = [t.name for t in reversed(Base.metadata.sorted_tables)]
# The tables that hold a row, and those whose own sequence has given a value.
_NOT_EMPTY = " UNION ALL ".join(
    f"SELECT '{name}' FROM (SELECT 1 FROM \"{name}\" LIMIT 1) AS one" for name in _TABLES
)
_SEQUENCE_USED = """
SELECT DISTINCT owner.relname
FROM pg_sequences used
JOIN pg_namespace schema ON schema.nspname = used.schemaname
JOIN pg_class sequence ON sequence.relname = used.sequencename
    AND sequence.relnamespace = schema.oid
JOIN pg_depend link ON link.classid = 'pg_class'::regclass AND link.objid = sequence.oid
    AND link.refclassid = 'pg_class'::regclass AND link.deptype IN ('a', 'i')
JOIN pg_class owner ON owner.oid = link.refobjid
WHERE used.last_value IS NOT NULL AND schema.nspname = current_schema()
"""


async def _truncate_all(url: str) -> None:
    """Every table empty and every identity restarted, as after a TRUNCATE of all of them;
    only the tables a test touched are truncated (truncating all 18 costs ~0.5 s a test).
    The SHARE locks wait, as TRUNCATE did, for a write still in flight to end first."""
    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        async with engine.begin() as connection:
            everything = ", ".join(f'"{name}"' for name in _TABLES)
            await connection.execute(text(f"LOCK TABLE {everything} IN SHARE MODE"))
            touched = set((await connection.scalars(text(_NOT_EMPTY))).all())
            touched |= set((await connection.scalars(text(_SEQUENCE_USED))).all())
            tables = ", ".join(f'"{name}"' for name in _TABLES if name in touched)
            if tables:
                await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    finally:
        await engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "hub.db"
        shutil.copyfile(sqlite_template, path)
        return f"sqlite+aiosqlite:///{path}"
    url: str = request.getfixturevalue("postgres_database")
    asyncio.run(_truncate_all(url))
    return url


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=tmp_path / "data",
        auth_cache_seconds=0.0,
        max_body_bytes=64 * 1024,
        max_batch_body_bytes=4 * 1024 * 1024,
        # Deliveries stay in the outbox unless a test is about them: it drives the sender
        # (`hub.outbox.run_once()`) or turns it on, so what a test reads never races it.
        delivery_sender=False,
        # Likewise the change feeds: a test about them reads them (`hub.feeds.run_once()`).
        change_feeds=False,
    )


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as http:
        yield http


@pytest.fixture
def make_api_client(app: FastAPI) -> MakeClient:
    """Create an API client straight through the security service (not over HTTP)."""

    async def make(
        *roles: str, name: str | None = None, agency: str = "Test agency"
    ) -> ApiCredentials:
        async with app.state.hub.sessionmaker.begin() as session:
            created, _key, plaintext = await security_service.create_client(
                session,
                name=name or f"test-{'-'.join(roles) or 'none'}-{uuid.uuid4().hex[:6]}",
                agency=agency,
                roles=[Role(r) for r in roles],
            )
        return ApiCredentials(created.id, plaintext, tuple(roles))

    return make


@pytest.fixture
async def admin(make_api_client: MakeClient) -> ApiCredentials:
    return await make_api_client("admin")


@pytest.fixture(scope="session")
def mock_servers_session() -> Iterator[Any]:
    """The four mock source systems as uvicorn processes on loopback, for the whole session."""
    from tests.helpers.mock_servers import MockServers

    with MockServers() as servers:
        yield servers


@pytest.fixture
def mock_servers(mock_servers_session: Any) -> Any:
    """The session's mocks (tests/mock_servers.py), with no faults and zeroed statistics."""
    mock_servers_session.reset()
    return mock_servers_session
