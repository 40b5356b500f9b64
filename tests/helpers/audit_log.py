"""Building a sealed access log in tests: settings that seal only when a test asks, one pull
event per call, append-then-seal, and the tamperings the verifier must detect and locate."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI
from sqlalchemy import select, text

from app.audit.models import AuditEvent, AuditSeal
from app.audit.serialize import seal_body_bytes
from app.audit.service import AuditLog
from app.config import Settings
from app.events import AuditEntry, EventKind, Outcome


def sealing_on_demand(database_url: str, tmp_path: Path, *, batch: int = 10) -> Settings:
    """No background sealer; seals of ``batch`` events when the test calls the sealer."""
    return Settings(
        database_url=database_url,
        data_dir=tmp_path / "data",
        auth_cache_seconds=0.0,
        audit_sealer=False,
        audit_seal_max_events=batch,
    )


def pull_event(i: int) -> AuditEntry:
    return AuditEntry(
        kind=EventKind.DATA_PULL,
        outcome=Outcome.ALLOWED,
        client_id="client-1",
        officer_id=f"officer-{i}",
        record_type="Person",
        fields=["hoVaTen"],
        purpose="birth-registration",
        details={"n": i},
    )


async def append_and_seal(app: FastAPI, count: int) -> None:
    audit: AuditLog = app.state.hub.audit
    for i in range(count):
        await audit.append(pull_event(i))
    assert audit.sealer is not None
    await audit.sealer.prepare()
    await audit.sealer.seal_pending()


# A sealed log of signed pulls, and each way of tampering with it that the verifier must catch.


def signed_pull(i: int) -> AuditEntry:
    return AuditEntry(
        kind=EventKind.DATA_PULL,
        outcome=Outcome.ALLOWED,
        client_id="client-1",
        agency="Sở Tư pháp Hà Nội",
        officer_id=f"officer-{i}",
        subject_id=f"0010990{i:05d}",
        record_type="Person",
        fields=["hoVaTen"],
        purpose="birth-registration",
        request_id=f"req-{i:08d}",
        details={"n": i},
    )


async def append_and_seal_pulls(app: FastAPI, count: int) -> list[int]:
    audit: AuditLog = app.state.hub.audit
    seqs = [await audit.append(signed_pull(i)) for i in range(count)]
    assert audit.sealer is not None
    await audit.sealer.prepare()
    await audit.sealer.seal_pending()
    return seqs


async def seq_at_leaf(app: FastAPI, leaf: int) -> int:
    async with app.state.hub.sessionmaker() as session:
        seq = await session.scalar(select(AuditEvent.seq).where(AuditEvent.leaf_index == leaf))
    assert seq is not None
    return seq


async def run_sql(app: FastAPI, *statements: str, **params: Any) -> None:
    async with app.state.hub.engine.begin() as conn:
        for statement in statements:
            await conn.execute(text(statement), params)


# The event at leaf 14 sits in seal 1 (leaves 10..19). Each tampering names its code, the
# chain position and, where the event still exists, its sequence number.
async def edit_event(app: FastAPI) -> tuple[str, int | None, int]:
    seq = await seq_at_leaf(app, 14)
    await run_sql(app, "UPDATE audit_events SET officer_id = 'intruder' WHERE seq = :s", s=seq)
    return "event_hash_mismatch", seq, 14


async def delete_event(app: FastAPI) -> tuple[str, int | None, int]:
    seq = await seq_at_leaf(app, 14)
    await run_sql(app, "DELETE FROM audit_events WHERE seq = :s", s=seq)
    return "sequence_gap", None, 14


async def insert_event(app: FastAPI) -> tuple[str, int | None, int]:
    await run_sql(
        app,
        "UPDATE audit_events SET leaf_index = -(leaf_index + 2) WHERE leaf_index >= 14",
        "UPDATE audit_events SET leaf_index = -leaf_index - 1 WHERE leaf_index < 0",
    )
    async with app.state.hub.sessionmaker() as session:
        forged = AuditEvent(
            ts=datetime.now(UTC),
            kind=EventKind.DATA_PULL,
            outcome=Outcome.ALLOWED,
            fields=["hoVaTen"],
            details={},
            leaf_index=14,
        )
        session.add(forged)
        await session.commit()
        return "event_inserted", forged.seq, 14


async def swap_events(app: FastAPI) -> tuple[str, int | None, int]:
    a, b = await seq_at_leaf(app, 14), await seq_at_leaf(app, 15)
    await run_sql(
        app,
        "UPDATE audit_events SET leaf_index = -1 WHERE seq = :a",
        "UPDATE audit_events SET leaf_index = 14 WHERE seq = :b",
        "UPDATE audit_events SET leaf_index = 15 WHERE seq = :a",
        a=a,
        b=b,
    )
    return "event_out_of_order", b, 14


async def edit_seal(app: FastAPI) -> tuple[str, int | None, int]:
    await run_sql(app, "UPDATE audit_seals SET root = :r WHERE seal_index = 1", r="ab" * 32)
    return "seal_edited", await seq_at_leaf(app, 10), 10


async def delete_seal(app: FastAPI) -> tuple[str, int | None, int]:
    await run_sql(app, "DELETE FROM audit_seals WHERE seal_index = 1")
    return "seal_missing", await seq_at_leaf(app, 10), 10


async def forge_signature(app: FastAPI) -> tuple[str, int | None, int]:
    async with app.state.hub.sessionmaker() as session:
        seal = await session.get(AuditSeal, 1)
        assert seal is not None
        body = {c: getattr(seal, c) for c in ("seal_index", "leaf_start", "leaf_count")}
        body |= {c: getattr(seal, c) for c in ("root", "prev_hash", "sealed_at", "key_id")}
        forged = Ed25519PrivateKey.generate().sign(seal_body_bytes(body))
        seal.signature = base64.b64encode(forged).decode()
        await session.commit()
    return "bad_signature", await seq_at_leaf(app, 10), 10


TAMPERING: dict[str, Callable[[FastAPI], Any]] = {
    "edited event": edit_event,
    "deleted event": delete_event,
    "inserted event": insert_event,
    "swapped events": swap_events,
    "edited seal": edit_seal,
    "deleted seal": delete_seal,
    "forged signature": forge_signature,
}


@asynccontextmanager
async def log_out_of_reach(app: FastAPI) -> AsyncIterator[None]:
    """The access log's table is renamed away (no event can be written), and comes back."""
    engine = app.state.hub.engine
    async with engine.begin() as conn:
        await conn.execute(text("ALTER TABLE audit_events RENAME TO audit_events_away"))
    try:
        yield
    finally:
        async with engine.begin() as conn:
            await conn.execute(text("ALTER TABLE audit_events_away RENAME TO audit_events"))
