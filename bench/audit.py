"""Access-log figures: durable appends per second through ``AuditLog.append`` with 64
concurrent writers (SQLite and PostgreSQL), the sealing lag at that rate, and verification
speed: of the pure verifier over 1M events built in memory, and of the real readers
(``verify_database`` and ``verify_jsonl`` over its export) over a stored log bulk-inserted and
sealed by the real sealer: 1M events on SQLite, 500,000 on PostgreSQL
(HUB_BENCH_STORED_EVENTS, HUB_BENCH_PG_STORED_EVENTS).

Targets: >= 5,000 appends/s (X-Road's batch timestamping tops out near 167 records/s at its
defaults, the baseline printed as a ratio), sealing lag <= 1 s, verification >= 200,000
events/s. Prints figures; never fails on timing. PostgreSQL: HUB_BENCH_POSTGRES_URL (default
postgresql+asyncpg://postgres@127.0.0.1:5432/test); a scratch database is created and dropped.

Run: ``.venv/bin/python bench/audit.py [seconds-per-backend]``.
"""

from __future__ import annotations

import asyncio
import base64
import os
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from hashlib import sha256
from pathlib import Path
from typing import Any

import asyncpg
import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import migrate
from app.audit.keys import key_document, key_id_of, public_keys_from_document, published_keys
from app.audit.merkle import leaf_hash, root_of
from app.audit.models import AuditEvent
from app.audit.sealer import Sealer
from app.audit.serialize import EVENT_COLUMNS, GENESIS_HASH, canonical_json, seal_body_bytes
from app.audit.service import AuditLog, load_subject_key
from app.audit.verify import (
    EventItem,
    SealItem,
    Verifier,
    export_lines,
    verify_database,
    verify_jsonl,
)
from app.config import Settings
from app.db import create_engine, create_sessionmaker
from app.events import AuditEntry, EventKind, Outcome

WRITERS = 64
XROAD_BASELINE = 167.0
PG_URL = os.environ.get(
    "HUB_BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)


def entry(i: int) -> AuditEntry:
    return AuditEntry(
        kind=EventKind.DATA_PULL,
        outcome=Outcome.ALLOWED,
        client_id="6f1c2b1e-8c0a-4f7e-9d55-3b2a1c0d9e8f",
        agency="Sở Tư pháp thành phố Hà Nội",
        officer_id=f"officer-{i % 300}",
        case_id=f"HS-{i:09d}",
        subject_id=f"001{i:09d}",
        record_type="Person",
        fields=["hoVaTen", "ngaySinh", "gioiTinh", "noiThuongTru"],
        purpose="birth-registration",
        procedure="birth-registration",
        basis="legal:Decree 278/2025/ND-CP art. 12",
        request_id=uuid.uuid4().hex,
        request_hash=sha256(str(i).encode()).hexdigest(),
        response_hash=sha256(str(-i).encode()).hexdigest(),
    )


async def appends(url: str, data_dir: Path, seconds: float) -> dict[str, float]:
    settings = Settings(database_url=url, data_dir=data_dir)
    engine = create_engine(url)
    audit = AuditLog(create_sessionmaker(engine), load_subject_key(settings), settings=settings)
    await audit.start()
    assert audit.sealer is not None
    done = 0
    stop_at = time.perf_counter() + seconds

    async def writer(w: int) -> None:
        nonlocal done
        i = w
        while time.perf_counter() < stop_at:
            await audit.append(entry(i))
            i += WRITERS
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(writer(w) for w in range(WRITERS)))
    elapsed = time.perf_counter() - started
    max_lag_during = audit.sealer.stats.max_lag_seconds
    # Drain: how long after the last acknowledged append is everything sealed?
    drained_at = time.perf_counter()
    async with create_sessionmaker(engine)() as session:
        while await session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.leaf_index.is_(None))
        ):
            await asyncio.sleep(0.02)
            await session.rollback()
    drain = time.perf_counter() - drained_at
    stats = audit.stats
    await audit.stop()
    verify_rate = file_rate = 0.0
    async with create_sessionmaker(engine)() as session:
        keys = public_keys_from_document(key_document(await published_keys(session), None))
        t = time.perf_counter()
        report = await verify_database(session, keys)
        verify_rate = report.events / (time.perf_counter() - t)
        assert report.ok, report.as_dict()
        export = data_dir / "export.jsonl"
        with export.open("wb") as handle:
            async for chunk in export_lines(session):
                handle.write(chunk)
        t = time.perf_counter()
        with export.open("rb") as handle:
            file_report = verify_jsonl(handle, keys)
        file_rate = file_report.events / (time.perf_counter() - t)
        assert file_report.ok, file_report.as_dict()
        export.unlink()
    await engine.dispose()
    return {
        "events": done,
        "rate": done / elapsed,
        "commits": stats.commits,
        "per_commit": stats.events / max(1, stats.commits),
        "lag": audit.sealer.stats.max_lag_seconds,
        "lag_during": max_lag_during,
        "drain": drain,
        "seals": audit.sealer.stats.seals,
        "db_verify_rate": verify_rate,
        "file_verify_rate": file_rate,
    }


def print_appends(name: str, r: dict[str, float]) -> None:
    print(
        f"{name:10s} {r['rate']:9,.0f} appends/s durable ({r['events']:,.0f} events, "
        f"{WRITERS} writers, {r['per_commit']:.0f} events/commit)  "
        f"= {r['rate'] / XROAD_BASELINE:.0f}x X-Road's ~167/s   target >= 5,000: "
        f"{'met' if r['rate'] >= 5000 else 'NOT met'}"
    )
    print(
        f"{'':10s} sealing lag max {r['lag']:.2f} s ({r['seals']:.0f} seals; all sealed "
        f"{r['drain']:.2f} s after the last append)   target <= 1 s: "
        f"{'met' if r['lag'] <= 1.0 else 'NOT met'}"
    )
    print(
        f"{'':10s} verify from the database: {r['db_verify_rate']:,.0f} events/s; from its "
        f"JSONL export: {r['file_verify_rate']:,.0f} events/s"
    )


def synthetic_batches(
    n: int, batch: int, key: Ed25519PrivateKey, key_id: str
) -> Iterator[tuple[list[EventItem], SealItem]]:
    """A sealed log of ``n`` events built in memory, batch by batch."""
    prev = GENESIS_HASH
    base = {
        "kind": "data.pull",
        "client_id": "6f1c2b1e-8c0a-4f7e-9d55-3b2a1c0d9e8f",
        "agency": "Sở Tư pháp thành phố Hà Nội",
        "case_id": None,
        "subject_hint": "0010******45",
        "record_type": "Person",
        "fields": ["hoVaTen", "ngaySinh", "gioiTinh", "noiThuongTru"],
        "purpose": "birth-registration",
        "procedure": "birth-registration",
        "filing_id": None,
        "basis": "legal:Decree 278/2025/ND-CP art. 12",
        "outcome": "allowed",
        "error_code": None,
        "details": {},
    }
    for index, start in enumerate(range(0, n, batch)):
        events = []
        for seq in range(start + 1, min(n, start + batch) + 1):
            record = dict(
                base,
                seq=seq,
                ts=f"2026-11-25T07:00:{seq % 60:02d}.{seq % 10**6:06d}Z",
                officer_id=f"officer-{seq % 300}",
                subject_hmac=f"{seq:064x}",
                request_id=f"{seq:032x}",
                request_hash=f"{seq * 7:064x}",
                response_hash=f"{seq * 13:064x}",
            )
            events.append(EventItem(seq, seq - 1, canonical_json(record)))
        leaves = [leaf_hash(e.data) for e in events]
        body = {
            "seal_index": index,
            "leaf_start": start,
            "leaf_count": len(events),
            "root": root_of(leaves).hex(),
            "prev_hash": prev,
            "sealed_at": "2026-11-25T07:00:00.000000Z",
            "key_id": key_id,
        }
        data = seal_body_bytes(body)
        prev = sha256(data).hexdigest()
        yield (
            events,
            SealItem(
                **body,
                signature=base64.b64encode(key.sign(data)).decode(),
                seal_hash=prev,
                leaf_hashes=b"".join(leaves),
            ),
        )


def verification(n: int = 1_000_000, batch: int = 10_000) -> None:
    key = Ed25519PrivateKey.generate()
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    key_id = key_id_of(raw)
    verifier = Verifier({key_id: key.public_key()})
    spent = 0.0
    for events, seal in synthetic_batches(n, batch, key, key_id):
        t = time.perf_counter()
        verifier.feed(events, seal)
        spent += time.perf_counter() - t
    report = verifier.finish()
    assert report.ok and report.events == n, report.as_dict()
    rate = n / spent
    print(
        f"verify     {rate:9,.0f} events/s over {n:,} events in {n // batch} seals "
        f"({spent:.2f} s; leaf, root, seal hash, signature and chain)   target >= 200,000: "
        f"{'met' if rate >= 200_000 else 'NOT met'}"
    )


# 1M stored events on SQLite. On PostgreSQL 500,000 by default, to keep the whole bench near
# 3 minutes: the real sealer needs ~36 s and the export ~20 s per million there. Set
# HUB_BENCH_PG_STORED_EVENTS=1000000 for the full million (about 1.5 minutes more).
STORED_EVENTS = int(os.environ.get("HUB_BENCH_STORED_EVENTS", "1000000"))
PG_STORED_EVENTS = int(os.environ.get("HUB_BENCH_PG_STORED_EVENTS", "500000"))
_STORED_COLUMNS = [c for c in EVENT_COLUMNS if c != "seq"]


def stored_rows(n: int) -> Iterator[dict[str, Any]]:
    """``n`` events shaped as the hub writes them (what AuditLog.append would store)."""
    start = datetime(2026, 11, 25, 7, 0, tzinfo=UTC)
    for i in range(n):
        yield {
            "ts": start + timedelta(microseconds=37 * i),
            "kind": "data.pull",
            "client_id": "6f1c2b1e-8c0a-4f7e-9d55-3b2a1c0d9e8f",
            "agency": "Sở Tư pháp thành phố Hà Nội",
            "officer_id": f"officer-{i % 300}",
            "case_id": f"HS-{i:09d}",
            "subject_hmac": f"{i * 2654435761:064x}"[-64:],
            "subject_hint": f"001{i % 10}******{i % 100:02d}",
            "record_type": "Person",
            "fields": ["hoVaTen", "ngaySinh", "gioiTinh", "noiThuongTru"],
            "purpose": "birth-registration",
            "procedure": "birth-registration",
            "filing_id": None,
            "basis": "legal:Decree 278/2025/ND-CP art. 12",
            "outcome": "allowed",
            "error_code": None,
            "request_id": f"{i:032x}",
            "request_hash": f"{i * 7:064x}",
            "response_hash": f"{i * 13:064x}",
            "details": {"status": 200, "cached": i % 2 == 0},
        }


async def seed(url: str, n: int) -> None:
    """Bulk-insert ``n`` unsealed events, stored exactly as SQLAlchemy stores them: on SQLite
    naive UTC text timestamps and JSON text, on PostgreSQL timestamptz and jsonb (COPY)."""
    if url.startswith("sqlite"):
        path = make_url(url).database
        assert path is not None
        db = sqlite3.connect(path)
        # Load without the secondary indexes and build them afterwards (much faster than
        # maintaining seven indexes row by row); the table ends up exactly as migrated.
        indexes = db.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
            "AND tbl_name = 'audit_events' AND sql IS NOT NULL"
        ).fetchall()
        for name, _sql in indexes:
            db.execute(f'DROP INDEX "{name}"')
        sql = (
            f"INSERT INTO audit_events ({', '.join(_STORED_COLUMNS)}) "
            f"VALUES ({', '.join('?' for _ in _STORED_COLUMNS)})"
        )
        params = []
        for row in stored_rows(n):
            row["ts"] = row["ts"].replace(tzinfo=None).isoformat(" ", "microseconds")
            row["fields"] = orjson.dumps(row["fields"]).decode()
            row["details"] = orjson.dumps(row["details"]).decode()
            params.append(tuple(row[c] for c in _STORED_COLUMNS))
        with db:
            db.executemany(sql, params)
        for _name, create in indexes:
            db.execute(create)
        db.commit()
        db.close()
        return
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn)
    try:
        indexes = await conn.fetch(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'audit_events' "
            "AND indexname NOT LIKE 'pk_%'"
        )
        for index in indexes:
            await conn.execute(f'DROP INDEX "{index["indexname"]}"')
        records = []
        for row in stored_rows(n):
            row["fields"] = orjson.dumps(row["fields"]).decode()
            row["details"] = orjson.dumps(row["details"]).decode()
            records.append(tuple(row[c] for c in _STORED_COLUMNS))
        await conn.copy_records_to_table("audit_events", records=records, columns=_STORED_COLUMNS)
        for index in indexes:
            await conn.execute(index["indexdef"])
        await conn.execute("ANALYZE audit_events")
    finally:
        await conn.close()


async def stored_verification(url: str, data_dir: Path, n: int) -> dict[str, float]:
    """Verification of a real stored log: ``n`` events bulk-inserted, sealed by the real
    sealer (batches of 10,000), then verified from the database and from its JSONL export."""
    t = time.perf_counter()
    await seed(url, n)
    seeded = time.perf_counter() - t
    settings = Settings(database_url=url, data_dir=data_dir)
    sealer = Sealer(settings)
    t = time.perf_counter()
    await sealer.prepare()
    await sealer.seal_pending()
    sealed = time.perf_counter() - t
    seals = sealer.stats.seals
    await sealer.stop()
    engine = create_engine(url)
    async with create_sessionmaker(engine)() as session:
        keys = public_keys_from_document(key_document(await published_keys(session), None))
        t = time.perf_counter()
        report = await verify_database(session, keys)
        db_time = time.perf_counter() - t
        assert report.ok and report.events == n, report.as_dict()
        export = data_dir / "stored-export.jsonl"
        t = time.perf_counter()
        with export.open("wb") as handle:
            async for chunk in export_lines(session):
                handle.write(chunk)
        exported = time.perf_counter() - t
    await engine.dispose()
    t = time.perf_counter()
    with export.open("rb") as handle:
        file_report = verify_jsonl(handle, keys)
    file_time = time.perf_counter() - t
    assert file_report.ok and file_report.events == n, file_report.as_dict()
    size = export.stat().st_size
    export.unlink()
    return {
        "events": n,
        "seals": seals,
        "seed": seeded,
        "seal": sealed,
        "export": exported,
        "size": size,
        "db_rate": n / db_time,
        "db_time": db_time,
        "file_rate": n / file_time,
        "file_time": file_time,
    }


def print_stored(name: str, r: dict[str, float]) -> None:
    print(
        f"{name:10s} stored log: {r['events']:,.0f} events bulk-inserted in {r['seed']:.1f} s, "
        f"sealed by the sealer in {r['seal']:.1f} s ({r['seals']:.0f} seals), exported in "
        f"{r['export']:.1f} s ({r['size'] / 1e6:.0f} MB)"
    )
    for label, rate, spent in (
        ("database", r["db_rate"], r["db_time"]),
        ("JSONL   ", r["file_rate"], r["file_time"]),
    ):
        print(
            f"{'':10s} verify from the {label}: {rate:9,.0f} events/s over {r['events']:,.0f} "
            f"stored events ({spent:.2f} s)   target >= 200,000: "
            f"{'met' if rate >= 200_000 else 'NOT met'}"
        )


async def postgres_scratch() -> str | None:
    name = f"audit_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT", pool_size=1, max_overflow=0)
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # no PostgreSQL here: the bench goes on without it
        print(f"postgres   skipped ({type(exc).__name__}: {str(exc)[:120]})")
        return None
    finally:
        await admin.dispose()
    return make_url(PG_URL).set(database=name).render_as_string(hide_password=False)


async def drop_postgres(url: str) -> None:
    name = make_url(url).database
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT", pool_size=1, max_overflow=0)
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 6.0
    print(
        f"access log: {WRITERS} concurrent writers, {seconds:.0f} s per backend, {os.cpu_count()} CPUs"
    )
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/hub.db"
        migrate.upgrade(url)
        print_appends("sqlite", asyncio.run(appends(url, Path(tmp) / "data", seconds)))
        stored_url = f"sqlite+aiosqlite:///{tmp}/stored.db"
        migrate.upgrade(stored_url)
        print_stored(
            "sqlite",
            asyncio.run(stored_verification(stored_url, Path(tmp) / "data", STORED_EVENTS)),
        )
        Path(f"{tmp}/stored.db").unlink()
        pg = asyncio.run(postgres_scratch())
        if pg is not None:
            try:
                migrate.upgrade(pg)
                print_appends("postgres", asyncio.run(appends(pg, Path(tmp) / "data-pg", seconds)))
            finally:
                asyncio.run(drop_postgres(pg))
        pg = asyncio.run(postgres_scratch())
        if pg is not None:
            try:
                migrate.upgrade(pg)
                print_stored(
                    "postgres",
                    asyncio.run(stored_verification(pg, Path(tmp) / "data-pg", PG_STORED_EVENTS)),
                )
            finally:
                asyncio.run(drop_postgres(pg))
    verification()


if __name__ == "__main__":
    main()
