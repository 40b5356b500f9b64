"""Appending to the access log, with group commit.

``append`` puts the event on a queue and waits. One writer task per instance takes what has
gathered (up to ``audit_batch_max`` events; a lone event waits ``audit_flush_ms`` for company,
0 by default, since whatever queues while a commit runs goes into the next one), inserts it in
one transaction and, after the commit, resolves every caller's future with the event's id.
An acknowledged append is therefore on disk, and concurrent requests share one commit.
If the commit fails, the batch is written again one event at a time, so that an event the
database refuses (a NUL byte in a text column on PostgreSQL, a NOT NULL violation) fails only
its own request, with :class:`UnloggableRequest`, and its neighbours commit; when the database
itself is out, every caller left gets :class:`AuditUnavailable`. Either way a refused caller
releases nothing. Ids come from the database (a PostgreSQL sequence, the SQLite rowid); the sealer
gives chain positions later, so several instances can append at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import secrets
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC
from typing import Any, cast

import orjson
from sqlalchemy import Table, insert
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.audit.errors import AuditUnavailable, UnloggableRequest
from app.audit.models import AuditEvent
from app.audit.sealer import Sealer
from app.audit.serialize import request_hash, response_hash
from app.config import Settings
from app.cursors import CursorCodec
from app.db import describe_error, is_row_error, tune_sqlite
from app.events import AuditEntry
from app.security.keyfiles import read_or_create
from app.timestamps import utcnow

log = logging.getLogger("hub.audit")

__all__ = [
    "AuditLog",
    "WriterStats",
    "load_subject_key",
    "mask_citizen_id",
    "request_hash",
    "response_hash",
    "subject_hmac",
]

_TABLE = cast(Table, AuditEvent.__table__)
_INSERT = insert(_TABLE).returning(_TABLE.c.seq, sort_by_parameter_order=True)
_LIMITS: dict[str, int] = {
    c.name: getattr(c.type, "length", 0) for c in _TABLE.columns if getattr(c.type, "length", 0)
}

_SQLITE_COLUMNS = [c.name for c in _TABLE.columns if c.name not in ("seq", "leaf_index")]
_SQLITE_INSERT = (
    f"INSERT INTO audit_events ({', '.join(_SQLITE_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in _SQLITE_COLUMNS)})"
)


def _sqlite_params(row: dict[str, Any]) -> tuple[Any, ...]:
    """The row as SQLAlchemy itself stores it on SQLite: naive UTC text timestamps and JSON
    text, so that reads through the ORM give back exactly the appended values."""
    values = []
    for name in _SQLITE_COLUMNS:
        value = row[name]
        if name == "ts":
            value = value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
        elif name in ("fields", "details"):
            value = orjson.dumps(value).decode()
        values.append(value)
    return tuple(values)


class _SqliteAppender:
    """The writer's own connection to a SQLite file, used from one thread of its own.

    Through the pooled aiosqlite connection a batch costs some nine hops between the event
    loop and the driver's thread (cursor, executemany, close, the rowid query, commit, the
    pool's reset), and each hop costs tens of microseconds of CPU. Here it is one: the
    INSERTs, ``last_insert_rowid()`` and the commit run in a single call. The connection is
    tuned as ``app.db`` tunes the engine's (WAL, synchronous=NORMAL, busy timeout).
    """

    def __init__(self, path: str) -> None:
        self._path = path
        self._connection: sqlite3.Connection | None = None
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="audit-sqlite")

    @classmethod
    def for_url(cls, url: str | URL) -> _SqliteAppender | None:
        """An appender for a SQLite file URL; None for anything else (in-memory included)."""
        parsed = make_url(url)
        if parsed.get_backend_name() != "sqlite":
            return None
        database = parsed.database or ""
        if database in ("", ":memory:") or database.startswith("file:") or parsed.query:
            return None
        return cls(database)

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self._path, timeout=10.0, isolation_level="DEFERRED")
        tune_sqlite(connection, None)
        return connection

    def _insert(self, params: list[tuple[Any, ...]]) -> list[int]:
        connection = self._connection
        if connection is None:
            connection = self._connection = self._connect()
        try:
            # The INSERT opens the transaction and takes the write lock from the first row,
            # and AUTOINCREMENT hands out consecutive rowids, so the ids are the last n.
            connection.executemany(_SQLITE_INSERT, params)
            top = int(connection.execute("SELECT last_insert_rowid()").fetchone()[0])
            connection.commit()
        except BaseException:
            try:
                connection.rollback()
            except sqlite3.Error:
                connection.close()
                self._connection = None
            raise
        return list(range(top - len(params) + 1, top + 1))

    async def insert(self, rows: list[dict[str, Any]]) -> list[int]:
        params = [_sqlite_params(r) for r in rows]
        return await asyncio.get_running_loop().run_in_executor(self._thread, self._insert, params)

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    async def aclose(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._thread, self._close)
        self._thread.shutdown(wait=False)


def load_subject_key(settings: Settings) -> bytes:
    """The HMAC key for subjects: from settings, else a key file shared by the instances."""
    if settings.audit_hmac_key is not None:
        return settings.audit_hmac_key.get_secret_value().encode()
    path = settings.data_dir / "audit-subject.key"
    return read_or_create(path, lambda: secrets.token_hex(32).encode()).strip()


def subject_hmac(key: bytes, citizen_id: str) -> str:
    return hmac.new(key, citizen_id.encode(), hashlib.sha256).hexdigest()


def mask_citizen_id(citizen_id: str) -> str:
    if len(citizen_id) <= 6:
        return "*" * len(citizen_id)
    return citizen_id[:4] + "*" * (len(citizen_id) - 6) + citizen_id[-2:]


@dataclass
class WriterStats:
    """Counters of the group-commit writer (``AuditLog.stats``)."""

    events: int = 0
    commits: int = 0
    largest_batch: int = 0
    failed_commits: int = 0
    refused_events: int = 0
    split_batches: int = 0


@dataclass(slots=True)
class _Pending:
    row: dict[str, Any]
    future: asyncio.Future[int]


class AuditLog:
    """The access log of one hub instance: ``append`` (group commit) and the sealer."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        subject_key: bytes,
        *,
        settings: Settings | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._subject_key = subject_key
        # The log's pages are the API's only cursors; their key is derived from the subject
        # key, so every instance sharing that key accepts the others' cursors.
        self.cursors = CursorCodec.derived_from(subject_key)
        self._settings = settings or Settings()
        self._flush = max(0.0, self._settings.audit_flush_ms / 1000)
        self._batch_max = max(1, self._settings.audit_batch_max)
        self._timeout = self._settings.audit_write_timeout_seconds
        bind = sessionmaker.kw.get("bind")
        url = getattr(bind, "url", None)
        self._sqlite = _SqliteAppender.for_url(url) if url is not None else None
        self._queue: asyncio.Queue[_Pending | None] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        self.stats = WriterStats()
        self.sealer: Sealer | None = Sealer(self._settings) if settings is not None else None

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the writer, and the sealer if configured (a broken key raises here)."""
        self._ensure_writer()
        if self.sealer is not None and self._settings.audit_sealer:
            await self.sealer.start()

    async def stop(self) -> None:
        """Write what is queued, then stop the writer and the sealer."""
        writer, self._writer = self._writer, None
        if writer is not None and not writer.done():
            self._queue.put_nowait(None)
            try:
                await asyncio.wait_for(writer, self._timeout + 1)
            except TimeoutError:
                writer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await writer
        if self.sealer is not None:
            await self.sealer.stop()
        if self._sqlite is not None:
            await self._sqlite.aclose()
            self._sqlite = None

    def _ensure_writer(self) -> None:
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._run(), name="audit-writer")

    # --- appending ----------------------------------------------------------------------------

    def subject_hmac(self, citizen_id: str) -> str:
        return subject_hmac(self._subject_key, citizen_id)

    request_hash = staticmethod(request_hash)
    response_hash = staticmethod(response_hash)

    def _row(self, entry: AuditEntry) -> dict[str, Any]:
        subject = entry.subject_id
        row: dict[str, Any] = {
            "ts": utcnow(),
            "kind": entry.kind,
            "client_id": entry.client_id,
            "agency": entry.agency,
            "officer_id": entry.officer_id,
            "case_id": entry.case_id,
            "subject_hmac": self.subject_hmac(subject) if subject else None,
            "subject_hint": mask_citizen_id(subject) if subject else None,
            "record_type": entry.record_type,
            # A JSON round trip: the row holds exactly what the database will give back.
            "fields": [str(f) for f in entry.fields],
            "purpose": entry.purpose,
            "procedure": entry.procedure,
            "filing_id": entry.filing_id,
            "basis": entry.basis,
            "outcome": entry.outcome,
            "error_code": entry.error_code,
            "request_id": entry.request_id,
            "request_hash": entry.request_hash,
            "response_hash": entry.response_hash,
            "details": (
                orjson.loads(orjson.dumps(entry.details, default=str)) if entry.details else {}
            ),
        }
        # One oversized header must not fail the whole shared transaction.
        for name, limit in _LIMITS.items():
            value = row.get(name)
            if isinstance(value, str) and len(value) > limit:
                row[name] = value[: limit - 1] + "…"
        return row

    async def append(self, entry: AuditEntry) -> int:
        """Make the entry durable and return its id (``seq``); AuditUnavailable otherwise."""
        pending = _Pending(self._row(entry), asyncio.get_running_loop().create_future())
        self._ensure_writer()
        self._queue.put_nowait(pending)
        return await pending.future

    async def _run(self) -> None:
        queue = self._queue
        while True:
            first = await queue.get()
            if first is None:
                return
            batch = [first]
            if self._flush and queue.empty():
                # A lone event waits a few ms for company; events that queued up while the
                # previous commit ran are written at once.
                await asyncio.sleep(self._flush)
            stop = False
            while len(batch) < self._batch_max and not queue.empty():
                item = queue.get_nowait()
                if item is None:
                    stop = True
                    break
                batch.append(item)
            await self._write(batch)
            if stop:
                return

    async def _commit(self, batch: list[_Pending]) -> list[int]:
        rows = [p.row for p in batch]
        if self._sqlite is not None:
            async with asyncio.timeout(self._timeout):
                return await self._sqlite.insert(rows)
        async with asyncio.timeout(self._timeout), self._sessionmaker() as session:
            connection = await session.connection()
            if connection.dialect.name == "sqlite":
                # SQLite runs INSERT .. RETURNING row by row; a plain executemany is one C loop.
                # The transaction holds the database's write lock from the first row, and
                # AUTOINCREMENT hands out consecutive rowids, so the ids are the last n.
                await connection.exec_driver_sql(_SQLITE_INSERT, [_sqlite_params(r) for r in rows])
                last = await connection.exec_driver_sql("SELECT last_insert_rowid()")
                top = int(last.scalar_one())
                seqs = list(range(top - len(rows) + 1, top + 1))
            else:
                result = await connection.execute(_INSERT, rows)
                seqs = list(result.scalars())
            await session.commit()
        return seqs

    async def _write(self, batch: list[_Pending]) -> None:
        try:
            seqs = await self._commit(batch)
        except asyncio.CancelledError:
            self._fail(batch, None)
            raise
        except Exception as exc:
            if len(batch) == 1:
                self._settle_failure(batch[0], exc)
            else:
                # One event the database refuses must not fail its neighbours' requests.
                self.stats.split_batches += 1
                log.warning(
                    "access log group commit of %d events failed (%s); writing them one by one",
                    len(batch),
                    describe_error(exc),
                )
                await self._write_one_by_one(batch)
            return
        self._acknowledge(batch, seqs)

    async def _write_one_by_one(self, batch: list[_Pending]) -> None:
        for index, pending in enumerate(batch):
            try:
                seqs = await self._commit([pending])
            except asyncio.CancelledError:
                self._fail(batch[index:], None)
                raise
            except Exception as exc:
                if not is_row_error(exc):
                    # The database itself is out: the rest would only wait for the same end.
                    self._fail(batch[index:], exc)
                    return
                self._settle_failure(pending, exc)
                continue
            self._acknowledge([pending], seqs)

    def _acknowledge(self, batch: list[_Pending], seqs: list[int]) -> None:
        stats = self.stats
        stats.commits += 1
        stats.events += len(batch)
        stats.largest_batch = max(stats.largest_batch, len(batch))
        for pending, seq in zip(batch, seqs, strict=True):
            if not pending.future.done():
                pending.future.set_result(seq)
        if self.sealer is not None:
            self.sealer.notify(len(batch))

    def _settle_failure(self, pending: _Pending, exc: Exception) -> None:
        """One event that could not be written alone: refused for its values, or unavailable."""
        if not is_row_error(exc):
            self._fail([pending], exc)
            return
        self.stats.refused_events += 1
        log.warning("access log refused one event: %s", describe_error(exc))
        if not pending.future.done():
            pending.future.set_exception(
                UnloggableRequest(
                    "The access log cannot store a value of this request (a control character, "
                    "for instance); nothing was released."
                )
            )

    def _fail(self, batch: list[_Pending], exc: BaseException | None) -> None:
        self.stats.failed_commits += 1
        if exc is not None:
            # The type and SQLSTATE only: a driver's message can quote the refused value.
            log.error("access log write failed: %s", describe_error(exc))
        for pending in batch:
            if not pending.future.done():
                pending.future.set_exception(
                    AuditUnavailable("The access log cannot be written; no data is released.")
                )
