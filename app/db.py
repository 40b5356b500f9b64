"""The async engine and sessions. SQLite (WAL) by default, PostgreSQL in production."""

from __future__ import annotations

import logging
import sqlite3
import traceback
from typing import Any

from sqlalchemy import JSON, MetaData, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import DataError, IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# JSONB on PostgreSQL, JSON text on SQLite: one column type for both backends.
JsonType = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: dict[Any, Any] = {dict[str, Any]: JsonType, list[Any]: JsonType}


def tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers proceed while the single writer commits; NORMAL sync is durable in WAL
    # mode against process crashes, which is the failure the access log must survive.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def create_engine(database_url: str, **kwargs: Any) -> AsyncEngine:
    """The hub's one way to make an engine. Parameters are never rendered into error messages:
    they are dossier values and citizen IDs, and an error message ends up in the server log."""
    kwargs["hide_parameters"] = True
    if database_url.startswith("sqlite"):
        # aiosqlite logs every call with its parameters at DEBUG; no level of ours shows them.
        logging.getLogger("aiosqlite").setLevel(logging.INFO)
        engine = create_async_engine(database_url, **kwargs)
        event.listen(engine.sync_engine, "connect", tune_sqlite)
        return engine
    kwargs.setdefault("pool_size", 20)
    kwargs.setdefault("max_overflow", 20)
    kwargs.setdefault("pool_pre_ping", True)
    return create_async_engine(database_url, **kwargs)


# SQLSTATE classes of errors caused by the values of one statement rather than by the database:
# 22 data exception (a NUL byte, a value too long), 23 integrity constraint violation.
_ROW_SQLSTATE_CLASSES = ("22", "23")


def sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of a database error, from the driver's exception, if it has one."""
    orig = getattr(exc, "orig", exc)
    for candidate in (orig, getattr(orig, "__cause__", None)):
        code = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
        if isinstance(code, str):
            return code
    return None


def is_row_error(exc: BaseException) -> bool:
    """Whether the database refused the values of a statement (so another statement may
    succeed) rather than failing as a whole (connection lost, timeout, disk full)."""
    if isinstance(exc, (DataError, IntegrityError, sqlite3.DataError, sqlite3.IntegrityError)):
        return True
    code = sqlstate(exc)
    return code is not None and code.startswith(_ROW_SQLSTATE_CLASSES)


def describe_error(exc: BaseException) -> str:
    """A database error for the server log: its type and SQLSTATE, never its message, which
    can quote a value (PostgreSQL's DETAIL line names the duplicate key, for instance)."""
    code = sqlstate(exc)
    return f"{type(exc).__name__} (SQLSTATE {code})" if code else type(exc).__name__


def _is_database_error(exc: BaseException) -> bool:
    if isinstance(exc, SQLAlchemyError):
        return True
    module = type(exc).__module__
    # The drivers' own errors, and SQLAlchemy's DBAPI adapters of them (not SQLAlchemyErrors).
    return module.split(".")[0] in ("sqlalchemy", "asyncpg", "sqlite3", "aiosqlite", "psycopg")


def format_exception_redacted(exc: BaseException) -> str:
    """The traceback of ``exc`` for the server log, with the message of every database error
    in its chain replaced by its type and SQLSTATE: a driver's message can quote the value it
    refused (``invalid input syntax for type integer: "..."``), a dossier value or an ID."""
    report = traceback.TracebackException.from_exception(exc)
    seen: set[int] = set()
    pending: list[tuple[traceback.TracebackException, BaseException]] = [(report, exc)]
    while pending:
        node, error = pending.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if _is_database_error(error):
            # The message TracebackException prints (it has no public setter).
            node._str = f"(message withheld: {describe_error(error)})"  # type: ignore[attr-defined]
        if node.__cause__ is not None and error.__cause__ is not None:
            pending.append((node.__cause__, error.__cause__))
        if node.__context__ is not None and error.__context__ is not None:
            pending.append((node.__context__, error.__context__))
    return "".join(report.format()).rstrip()


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
