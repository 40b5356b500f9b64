"""The fast verification readers (raw database rows, block-read JSONL, hashed batches) give
the same leaf bytes and the same reports as the typed reference path, tampered or not."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select, text

from app.audit.keys import key_document, public_keys_from_document, published_keys
from app.audit.models import AuditEvent
from app.audit.serialize import (
    EVENT_COLUMNS,
    canonical_ts_text,
    event_bytes,
    event_bytes_from_text,
)
from app.audit.verify import Report, _RawReader, export_lines, verify_database, verify_jsonl
from app.audit.verify import jsonl as jsonl_module
from app.audit.verify import raw as raw_module
from app.config import Settings
from app.events import AuditEntry, EventKind, Outcome
from tests.helpers.audit_log import (
    TAMPERING,
    append_and_seal_pulls,
    edit_event,
    sealing_on_demand,
)

BATCH = 10


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Seals of 10 events, made when the test asks (no background sealer)."""
    return sealing_on_demand(database_url, tmp_path, batch=BATCH)


async def _keys(app: FastAPI) -> dict[str, Any]:
    async with app.state.hub.sessionmaker() as session:
        return public_keys_from_document(key_document(await published_keys(session), None))


async def _report(app: FastAPI, *, typed: bool, **kwargs: Any) -> Report:
    keys = await _keys(app)
    async with app.state.hub.sessionmaker() as session:
        if typed:  # the reference: ORM rows through event_bytes, a seal per query
            with pytest.MonkeyPatch.context() as mp:
                mp.setattr(_RawReader, "open", _no_reader)
                return await verify_database(session, keys, **kwargs)
        return await verify_database(session, keys, **kwargs)


async def _no_reader(session: Any) -> None:
    return None


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Several queries per page and seals split across queries, at test sizes."""
    monkeypatch.setattr(raw_module, "_SEALS_PER_PAGE", 2)
    monkeypatch.setattr(raw_module, "_LEAVES_PER_QUERY", 15)


@pytest.mark.parametrize("kind", list(TAMPERING))
async def test_the_fast_database_reader_reports_what_the_typed_one_does(
    app: FastAPI, kind: str, small_pages: None
) -> None:
    await append_and_seal_pulls(app, 45)
    assert (await _report(app, typed=False)).ok
    await TAMPERING[kind](app)
    fast = await _report(app, typed=False)
    reference = await _report(app, typed=True)
    assert not fast.ok
    assert fast.as_dict() == reference.as_dict()
    seqs = list(range(1, 60))
    ranged = await _report(app, typed=False, from_seq=seqs[2], to_seq=seqs[40])
    assert (
        ranged.as_dict()
        == (await _report(app, typed=True, from_seq=seqs[2], to_seq=seqs[40])).as_dict()
    )


def _odd_entry(i: int) -> AuditEntry:
    return AuditEntry(
        kind=EventKind.DATA_PULL,
        outcome=Outcome.DENIED if i % 2 else Outcome.ALLOWED,
        client_id=None if i % 3 else "client-1",
        agency="Sở Tư pháp Hà Nội \u00e9\u4e2d\U0001f600",
        officer_id=f'off\x01\x1f\t\n\r\b\f"\\/\x7f-{i}',
        subject_id=f"0010990{i:05d}",
        record_type="Person",
        fields=[] if i % 4 == 0 else ["hoVaTen", "ngày"],
        purpose="birth-registration",
        request_id=f"req-{i:08d}",
        details={"z": i, "a": [1, {"y": None, "b": True}], "m": "\u2028"} if i % 2 else {},
    )


async def test_raw_rows_give_the_typed_leaf_bytes_and_odd_forms_fall_back(app: FastAPI) -> None:
    audit = app.state.hub.audit
    seqs = [await audit.append(_odd_entry(i)) for i in range(12)]
    # Forms the fast path does not read (a timestamp written another way) or reads
    # specially (JSON null): the sealer hashes them typed; the verifier must agree.
    async with app.state.hub.engine.begin() as conn:
        await conn.execute(
            text("UPDATE audit_events SET ts = '2026-11-25 07:00:00' WHERE seq = :s"),
            {"s": seqs[3]},
        )
        await conn.execute(
            text("UPDATE audit_events SET fields = 'null' WHERE seq = :s"), {"s": seqs[4]}
        )
    assert audit.sealer is not None
    await audit.sealer.prepare()
    await audit.sealer.seal_pending()
    async with app.state.hub.sessionmaker() as session:
        typed = {
            r.seq: event_bytes(r._mapping)
            for r in await session.execute(select(*(getattr(AuditEvent, c) for c in EVENT_COLUMNS)))
        }
        reader = await _RawReader.open(session)
        assert reader is not None
        rows = await reader.event_rows(0, 100)
    assert len(rows) == 12
    for row in rows:
        fast = event_bytes_from_text(row)
        if fast is not None:
            assert fast == typed[row[0]]
    unread = [row[0] for row in rows if event_bytes_from_text(row) is None]
    assert unread in ([], [seqs[3]])  # SQLite keeps the odd text; PostgreSQL a timestamp
    assert (await _report(app, typed=False)).ok


def test_timestamp_text_forms() -> None:
    assert canonical_ts_text("2026-11-25 07:00:00.123456") == "2026-11-25T07:00:00.123456Z"
    assert canonical_ts_text("2026-11-25T07:00:00.123456Z") == "2026-11-25T07:00:00.123456Z"
    for other in ("2026-11-25 07:00:00", "2026-11-25T07:00:00.123456+00:00", "x" * 26, None, 5):
        assert canonical_ts_text(other) is None
    assert canonical_ts_text("2026-11-25 07:00:0\u0661.123456") is None  # ASCII digits only


async def _export(app: FastAPI) -> bytes:
    out = io.BytesIO()
    async with app.state.hub.sessionmaker() as session:
        async for chunk in export_lines(session):
            out.write(chunk)
    return out.getvalue()


@pytest.mark.parametrize("block", [7, 1000, 1 << 22])
async def test_jsonl_reads_the_same_at_any_block_size(
    app: FastAPI, block: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    await append_and_seal_pulls(app, 25)
    await app.state.hub.audit.append(_odd_entry(99))  # one unsealed event at the end
    keys = await _keys(app)
    monkeypatch.setattr(jsonl_module, "_BLOCK", block)
    data = await _export(app)
    good = verify_jsonl(io.BytesIO(data), keys)
    assert good.ok and (good.events, good.seals, good.unsealed) == (25, 3, 1), good.as_dict()
    # Blank lines and a missing final newline change nothing.
    spaced = data.replace(b"\n", b"\n\n", 3).rstrip(b"\n")
    assert verify_jsonl(io.BytesIO(spaced), keys).as_dict() == good.as_dict()
    # Swapped lines within a batch are sorted back by leaf position, as before.
    lines = data.split(b"\n")
    lines[2], lines[3] = lines[3], lines[2]
    assert verify_jsonl(io.BytesIO(b"\n".join(lines)), keys).ok
    _code, seq, _leaf = await edit_event(app)
    edited = verify_jsonl(io.BytesIO(await _export(app)), keys)
    assert edited.first is not None
    assert (edited.first.code, edited.first.seq) == ("event_hash_mismatch", seq)
