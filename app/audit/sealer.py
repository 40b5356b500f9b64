"""The sealer: takes unsealed events in id order, gives them dense chain positions, builds an
RFC 9162 Merkle tree per batch, chains the root to the previous seal and signs the seal.

Every hub instance runs one, but only one seals at a time: a PostgreSQL transaction-level
advisory lock, or an exclusive file lock next to the SQLite database. Positions are assigned
in the order the sealer finds events, so an event whose transaction commits late (after
events with higher ids were sealed) is simply sealed in the next batch: nothing is skipped
and positions stay dense.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from hashlib import sha256
from pathlib import Path
from typing import Any, NamedTuple

import orjson
from sqlalchemy import bindparam, event, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.audit.keys import (
    SealingKeyError,
    SigningKey,
    load_signing_key,
    publish_key,
    remember_public,
    rotate_signing_key,
)
from app.audit.merkle import leaf_hash, root_of
from app.audit.models import AuditArchive, AuditEvent, AuditKey, AuditSeal
from app.audit.serialize import (
    EVENT_COLUMNS,
    GENESIS_HASH,
    event_bytes,
    format_ts,
    seal_body_bytes,
)
from app.config import Settings
from app.db import create_engine, create_sessionmaker
from app.timestamps import utcnow

log = logging.getLogger("hub.audit.sealer")

# pg_try_advisory_xact_lock key: "DOHSEAL" as an integer, fixed for every instance.
ADVISORY_LOCK_KEY = 0x444F4853_45414C


class Head(NamedTuple):
    """The last seal of the chain: the next seal is ``seal_index + 1``, starts at leaf
    ``leaf_end`` and chains to ``seal_hash``. A report's ``head``, an anchor and a pinned
    head name a seal the same way."""

    seal_index: int
    seal_hash: str
    leaf_end: int


def _key_row(key: SigningKey) -> dict[str, Any]:
    return {
        "key_id": key.key_id,
        "algorithm": "Ed25519",
        "public_key": key.public_b64,
        "created_at": key.created_at,
        "retired_at": None,
    }


@dataclass
class SealerStats:
    seals: int = 0
    events: int = 0
    rounds: int = 0
    skipped_locked: int = 0
    errors: int = 0
    last_lag_seconds: float = 0.0
    max_lag_seconds: float = 0.0


def _sqlite_path(url: str) -> Path | None:
    if url.startswith("sqlite") and ":///" in url:
        path = url.split(":///", 1)[1].split("?", 1)[0]
        if path and path != ":memory:":
            return Path(path)
    return None


def _immediate_transactions(engine: AsyncEngine) -> None:
    """SQLite: take the write lock when the transaction begins, so the sealer's snapshot
    cannot go stale under a concurrent commit (SQLITE_BUSY_SNAPSHOT)."""

    @event.listens_for(engine.sync_engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


class Sealer:
    def __init__(self, settings: Settings, *, key: SigningKey | None = None) -> None:
        self._settings = settings
        self._url = settings.database_url
        self.is_sqlite = self._url.startswith("sqlite")
        self._engine: AsyncEngine | None = None
        self._key = key
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._local_pending = 0
        self._lock = asyncio.Lock()
        self.max_events = settings.audit_seal_max_events
        self.interval = settings.audit_seal_interval_seconds
        self.stats = SealerStats()
        self._last_retention = 0.0

    @property
    def key(self) -> SigningKey:
        if self._key is None:
            self._key = load_signing_key(self._settings.data_dir)
        return self._key

    @property
    def current_key_id(self) -> str | None:
        return self._key.key_id if self._key is not None else None

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            # orjson parses the JSON columns several times faster than the json module.
            fast_json = {"json_deserializer": orjson.loads}
            if self.is_sqlite:
                self._engine = create_engine(self._url, **fast_json)
                _immediate_transactions(self._engine)
            else:
                self._engine = create_engine(self._url, pool_size=2, max_overflow=2, **fast_json)
        return self._engine

    async def prepare(self) -> None:
        """Load (or create) the signing key and publish it; a broken key stops the start."""
        key = self.key
        async with create_sessionmaker(self.engine)() as session:
            await publish_key(session, key)

    async def start(self) -> None:
        await self.prepare()
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="audit-sealer")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None

    def notify(self, appended: int) -> None:
        """The local writer committed events; wake early when a batch is full."""
        self._local_pending += appended
        if self._local_pending >= self.max_events:
            self._wake.set()

    async def _run(self) -> None:
        poll = max(0.01, self.interval / 4)
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), poll)
            self._wake.clear()
            self._local_pending = 0
            try:
                await self.seal_pending()
                await self._maybe_archive()
            except asyncio.CancelledError:
                raise
            except Exception:
                self.stats.errors += 1
                log.exception("sealing failed; retrying")
                await asyncio.sleep(poll)

    async def _maybe_archive(self) -> None:
        days = self._settings.audit_retention_days
        every = self._settings.audit_archive_check_seconds
        if days is None or time.monotonic() - self._last_retention < every:
            return
        self._last_retention = time.monotonic()
        from app.audit.retention import archive_expired

        await archive_expired(self, self._settings)

    @contextlib.asynccontextmanager
    async def locked(self, *, wait: bool = False) -> AsyncIterator[AsyncConnection | None]:
        """One transaction holding the cross-instance sealing lock, or None if another
        instance holds it. With ``wait`` it waits for the lock instead (a key rotation)."""
        async with self._lock:
            lock_file = None
            path = _sqlite_path(self._url)
            if path is not None:
                lock_file = open(f"{path}.sealer.lock", "a+b")  # noqa: SIM115, ASYNC230
                try:
                    if wait:
                        await asyncio.to_thread(fcntl.flock, lock_file.fileno(), fcntl.LOCK_EX)
                    else:
                        fcntl.flock(lock_file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    lock_file.close()
                    self.stats.skipped_locked += 1
                    yield None
                    return
            try:
                async with self.engine.begin() as conn:
                    if not self.is_sqlite and wait:
                        await conn.execute(
                            text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY}
                        )
                    elif not self.is_sqlite:
                        got = await conn.scalar(
                            text("SELECT pg_try_advisory_xact_lock(:key)"),
                            {"key": ADVISORY_LOCK_KEY},
                        )
                        if not got:
                            self.stats.skipped_locked += 1
                            yield None
                            return
                    yield conn
            finally:
                if lock_file is not None:
                    fcntl.flock(lock_file.fileno(), fcntl.LOCK_UN)
                    lock_file.close()

    async def seal_pending(self, max_batches: int | None = None) -> int:
        """Seal everything unsealed, a batch of at most ``max_events`` at a time. Returns the
        number of seals made (0 when nothing was pending or another instance holds the lock)."""
        made = 0
        self.stats.rounds += 1
        while max_batches is None or made < max_batches:
            async with self.locked() as conn:
                if conn is None:
                    return made
                sealed = await self._seal_one(conn)
            if sealed == 0:
                break
            made += 1
            if sealed < self.max_events:
                break
        return made

    async def head(self, conn: AsyncConnection) -> Head | None:
        """The head: the last seal as ``(seal_index, seal_hash, leaf_end)``, or the last
        archived seal when retention left none, or None for an empty log (docs/audit.md,
        section 2)."""
        last = (
            await conn.execute(
                select(
                    AuditSeal.seal_index,
                    AuditSeal.seal_hash,
                    AuditSeal.leaf_start,
                    AuditSeal.leaf_count,
                )
                .order_by(AuditSeal.seal_index.desc())
                .limit(1)
            )
        ).first()
        if last is not None:
            return Head(last.seal_index, last.seal_hash, last.leaf_start + last.leaf_count)
        archived = (
            await conn.execute(
                select(AuditArchive.last_seal, AuditArchive.last_seal_hash, AuditArchive.leaf_end)
                .order_by(AuditArchive.last_seal.desc())
                .limit(1)
            )
        ).first()
        if archived is not None:
            return Head(archived.last_seal, archived.last_seal_hash, archived.leaf_end)
        return None

    async def signing_key(self, conn: AsyncConnection) -> SigningKey:
        """The key to sign with now, inside the sealing transaction: a rotation retires the
        old key under the same lock, so no seal is signed after its key's ``retired_at``. One
        primary-key read per seal; a retired key is swapped for the key file's new one (the
        instances of one data_dir share it) and a key file that still holds the retired key
        stops this instance's sealing."""
        key = self.key
        retired_at = await conn.scalar(
            select(AuditKey.retired_at).where(AuditKey.key_id == key.key_id)
        )
        if retired_at is None:
            return key
        fresh = load_signing_key(self._settings.data_dir, create=False)
        row = (
            await conn.execute(
                select(AuditKey.public_key, AuditKey.retired_at).where(
                    AuditKey.key_id == fresh.key_id
                )
            )
        ).first()
        if fresh.key_id == key.key_id or (row is not None and row.retired_at is not None):
            raise SealingKeyError(
                f"The sealing key {fresh.key_id} was retired; this instance's key file holds "
                "no newer key, so it stops sealing (run `declare-once audit rotate-key` on "
                "its data_dir)."
            )
        if row is None:
            await conn.execute(insert(AuditKey).values(_key_row(fresh)))
        elif row.public_key != fresh.public_b64:
            raise SealingKeyError(
                f"The published key {fresh.key_id} differs from the sealing key file."
            )
        log.info("sealing key %s was retired; now signing with %s", key.key_id, fresh.key_id)
        self._key = fresh
        return fresh

    async def rotate_key(self) -> tuple[SigningKey | None, SigningKey]:
        """``declare-once audit rotate-key``: a new key file, then, under the sealing lock, the
        new key published and the old one retired. Every instance's sealer reads its key's
        status in the sealing transaction, so the next seal anywhere is signed by a key that
        is not retired; ``retired_at`` is never before the last seal the old key signed."""
        old, new = rotate_signing_key(self._settings.data_dir)
        retired: datetime | None = None
        async with self.locked(wait=True) as conn:
            assert conn is not None
            known = await conn.scalar(select(AuditKey.key_id).where(AuditKey.key_id == new.key_id))
            if known is None:
                await conn.execute(insert(AuditKey).values(_key_row(new)))
            if old is not None:
                last_sealed = await conn.scalar(
                    select(AuditSeal.sealed_at).order_by(AuditSeal.seal_index.desc()).limit(1)
                )
                at = utcnow()
                if last_sealed is not None and format_ts(at) < last_sealed:
                    at = datetime.fromisoformat(last_sealed.replace("Z", "+00:00"))
                await conn.execute(
                    update(AuditKey)
                    .where(AuditKey.key_id == old.key_id, AuditKey.retired_at.is_(None))
                    .values(retired_at=at)
                )
                retired = await conn.scalar(
                    select(AuditKey.retired_at).where(AuditKey.key_id == old.key_id)
                )
        if old is not None and retired is not None:
            # The local key document must name the same instant as the published one.
            remember_public(self._settings.data_dir, old, retired_at=retired)
        self._key = new
        return old, new

    async def _seal_one(self, conn: AsyncConnection) -> int:
        key = await self.signing_key(conn)
        head = await self.head(conn)
        if head is None:
            seal_index, leaf_start, prev_hash = 0, 0, GENESIS_HASH
        else:
            seal_index, leaf_start, prev_hash = head.seal_index + 1, head.leaf_end, head.seal_hash
        columns = [getattr(AuditEvent, c) for c in EVENT_COLUMNS]
        rows = list(
            (
                await conn.execute(
                    select(*columns)
                    .where(AuditEvent.leaf_index.is_(None))
                    .order_by(AuditEvent.seq)
                    .limit(self.max_events)
                )
            ).mappings()
        )
        if not rows:
            return 0
        leaves = [leaf_hash(event_bytes(r)) for r in rows]
        root = root_of(leaves).hex()
        seqs = [r["seq"] for r in rows]
        positions = list(range(leaf_start, leaf_start + len(rows)))
        if self.is_sqlite:
            await conn.execute(
                update(AuditEvent)
                .where(AuditEvent.seq == bindparam("b_seq"))
                .values(leaf_index=bindparam("b_leaf")),
                [{"b_seq": s, "b_leaf": p} for s, p in zip(seqs, positions, strict=True)],
            )
        else:
            await conn.execute(
                text(
                    "UPDATE audit_events AS e SET leaf_index = v.leaf FROM "
                    "unnest(CAST(:seqs AS BIGINT[]), CAST(:leaves AS BIGINT[])) AS v(seq, leaf) "
                    "WHERE e.seq = v.seq"
                ),
                {"seqs": seqs, "leaves": positions},
            )
        now = utcnow()
        body = {
            "seal_index": seal_index,
            "leaf_start": leaf_start,
            "leaf_count": len(rows),
            "root": root,
            "prev_hash": prev_hash,
            "sealed_at": format_ts(now),
            "key_id": key.key_id,
        }
        body_bytes = seal_body_bytes(body)
        await conn.execute(
            insert(AuditSeal).values(
                **body,
                signature=key.sign(body_bytes),
                seal_hash=sha256(body_bytes).hexdigest(),
                leaf_hashes=b"".join(leaves),
            )
        )
        oldest = min(r["ts"] for r in rows)
        lag = (now - oldest).total_seconds()
        self.stats.seals += 1
        self.stats.events += len(rows)
        self.stats.last_lag_seconds = lag
        self.stats.max_lag_seconds = max(self.stats.max_lag_seconds, lag)
        return len(rows)
