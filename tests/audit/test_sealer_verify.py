"""Sealing, inclusion proofs and verification: every kind of tampering is detected and
located; keys are checked, rotate, and stay published; retention keeps the rest verifiable."""

from __future__ import annotations

import asyncio
import base64
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from typer.testing import CliRunner

from app.audit.keys import (
    SealingKeyError,
    key_document,
    public_keys_from_document,
    publish_key,
    published_keys,
    retire_key,
    rotate_signing_key,
)
from app.audit.merkle import leaf_hash, root_from_path
from app.audit.models import AuditArchive, AuditEvent, AuditSeal
from app.audit.retention import archive_expired
from app.audit.sealer import Sealer
from app.audit.serialize import seal_body_bytes
from app.audit.verify import Report, export_lines, verify_database, verify_jsonl
from app.cli import cli
from app.config import Settings
from app.main import create_app
from tests.helpers.audit_log import (
    TAMPERING,
    append_and_seal_pulls,
    edit_event,
    sealing_on_demand,
    signed_pull,
)
from tests.helpers.clients import MakeClient

BATCH = 10


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Seals of 10 events, made when the test asks (no background sealer)."""
    return sealing_on_demand(database_url, tmp_path, batch=BATCH)


async def _verify(app: FastAPI) -> Report:
    async with app.state.hub.sessionmaker() as session:
        keys = public_keys_from_document(key_document(await published_keys(session), None))
        return await verify_database(session, keys)


async def test_a_sealed_log_verifies_with_dense_positions_and_chained_seals(app: FastAPI) -> None:
    seqs = await append_and_seal_pulls(app, 25)
    async with app.state.hub.sessionmaker() as session:
        seals = (await session.scalars(select(AuditSeal).order_by(AuditSeal.seal_index))).all()
        leaves = (
            await session.scalars(select(AuditEvent.leaf_index).order_by(AuditEvent.seq))
        ).all()
    assert [(s.leaf_start, s.leaf_count) for s in seals] == [(0, 10), (10, 10), (20, 5)]
    assert seals[1].prev_hash == seals[0].seal_hash
    assert list(leaves) == list(range(25))
    report = await _verify(app)
    assert report.ok, report.as_dict()
    assert (report.events, report.seals, report.unsealed) == (25, 3, 0)
    assert seqs == sorted(seqs)


@pytest.mark.parametrize("kind", list(TAMPERING))
async def test_tampering_is_detected_and_located(app: FastAPI, kind: str) -> None:
    await append_and_seal_pulls(app, 30)
    assert (await _verify(app)).ok
    code, seq, leaf = await TAMPERING[kind](app)
    report = await _verify(app)
    assert not report.ok
    first = report.first
    assert first is not None
    assert (first.code, first.leaf_index, first.seal_index) == (code, leaf, 1), first
    if seq is not None:
        assert first.seq == seq
    # The batch before the damage is intact.
    assert all(p.seal_index != 0 for p in report.problems)


async def test_the_verify_endpoint_names_the_first_bad_event(
    app: FastAPI, client: httpx.AsyncClient, make_api_client: MakeClient
) -> None:
    auditor = await make_api_client("auditor")
    await append_and_seal_pulls(app, 30)
    ok = (await client.get("/v1/audit/verify", headers=auditor.headers)).json()
    assert ok["ok"] is True and ok["events_verified"] >= 30
    _code, seq, _leaf = await edit_event(app)
    bad = (await client.get("/v1/audit/verify", headers=auditor.headers)).json()
    assert bad["ok"] is False
    assert bad["first_problem"]["code"] == "event_hash_mismatch"
    assert bad["first_problem"]["seq"] == seq
    ranged = await client.get(
        "/v1/audit/verify", params={"from": 1, "to": seq - 5}, headers=auditor.headers
    )
    assert ranged.json()["ok"] is True  # the damage lies outside the range


async def test_a_proof_checks_out_with_only_the_public_key(
    app: FastAPI, client: httpx.AsyncClient, make_api_client: MakeClient
) -> None:
    auditor = await make_api_client("auditor")
    seqs = await append_and_seal_pulls(app, 13)
    keys_doc = (await client.get("/v1/audit/public-key")).json()
    keys = public_keys_from_document(keys_doc)
    answer = await client.get(f"/v1/audit/events/{seqs[11]}/proof", headers=auditor.headers)
    assert answer.status_code == 200, answer.text
    proof = answer.json()
    event = {k: v for k, v in proof["event"].items() if k != "leaf_index"}
    leaf = leaf_hash(orjson.dumps(event, option=orjson.OPT_SORT_KEYS))
    assert leaf.hex() == proof["leaf_hash"]
    root = root_from_path(
        proof["proof"]["index_in_batch"],
        proof["proof"]["tree_size"],
        leaf,
        [bytes.fromhex(h) for h in proof["proof"]["audit_path"]],
    )
    seal = proof["seal"]
    assert root is not None and root.hex() == seal["root"]
    keys[seal["key_id"]].verify(base64.b64decode(seal["signature"]), seal_body_bytes(seal))
    pending = await app.state.hub.audit.append(signed_pull(99))
    later = await client.get(f"/v1/audit/events/{pending}/proof", headers=auditor.headers)
    assert later.status_code == 409 and later.json()["code"] == "not_sealed_yet"
    missing = await client.get("/v1/audit/events/999999/proof", headers=auditor.headers)
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"


async def test_an_exported_file_verifies_offline_and_a_changed_line_is_located(
    app: FastAPI, tmp_path: Path
) -> None:
    await append_and_seal_pulls(app, 30)
    export = tmp_path / "log.jsonl"
    async with app.state.hub.sessionmaker() as session:
        with export.open("wb") as handle:
            async for chunk in export_lines(session):
                handle.write(chunk)
        keys_file = tmp_path / "keys.json"
        keys_file.write_bytes(orjson.dumps(key_document(await published_keys(session), None)))
    runner = CliRunner()
    verified = runner.invoke(
        cli, ["audit", "verify", "--file", str(export), "--public-key", str(keys_file), "--json"]
    )
    assert verified.exit_code == 0, verified.output
    lines = export.read_bytes().splitlines()
    victim = orjson.loads(lines[8])
    victim["fields"] = ["hoVaTen", "soDinhDanh"]
    lines[8] = orjson.dumps(victim)
    export.write_bytes(b"\n".join(lines) + b"\n")
    with export.open("rb") as handle:
        report = verify_jsonl(
            handle, public_keys_from_document(orjson.loads(keys_file.read_bytes()))
        )
    assert report.first is not None
    assert (report.first.code, report.first.seq) == ("event_hash_mismatch", victim["seq"])
    failed = runner.invoke(
        cli, ["audit", "verify", "--file", str(export), "--public-key", str(keys_file)]
    )
    assert failed.exit_code == 1
    assert "event_hash_mismatch" in failed.output


async def test_a_garbage_sealer_key_stops_the_hub_at_start(settings: Settings) -> None:
    key_file = settings.data_dir / "audit-keys" / "signing-key.json"
    key_file.parent.mkdir(parents=True)
    key_file.write_bytes(b"this is not a key")
    started = create_app(settings.model_copy(update={"audit_sealer": True}))
    with pytest.raises(SealingKeyError, match="not a valid Ed25519 key"):
        async with started.router.lifespan_context(started):
            pass


async def test_a_key_file_that_does_not_match_its_key_id_is_refused(app: FastAPI) -> None:
    sealer = app.state.hub.audit.sealer
    await sealer.prepare()
    key_file = app.state.hub.settings.data_dir / "audit-keys" / "signing-key.json"
    doc = orjson.loads(key_file.read_bytes())
    doc["key_id"] = "0" * 32
    key_file.write_bytes(orjson.dumps(doc))
    with pytest.raises(SealingKeyError, match="does not match"):
        await Sealer(app.state.hub.settings).prepare()


async def test_rotated_keys_stay_published_and_old_seals_still_verify(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await append_and_seal_pulls(app, 12)
    settings: Settings = app.state.hub.settings
    old, new = rotate_signing_key(settings.data_dir)
    assert old is not None
    async with app.state.hub.sessionmaker() as session:
        await publish_key(session, new)
        await retire_key(session, old.key_id)
    sealer = Sealer(settings)
    try:
        await sealer.prepare()
        for i in range(5):
            await app.state.hub.audit.append(signed_pull(i))
        await sealer.seal_pending()
    finally:
        await sealer.stop()
    doc = (await client.get("/v1/audit/public-key")).json()
    assert {k["key_id"]: bool(k["retired_at"]) for k in doc["keys"]} == {
        old.key_id: True,
        new.key_id: False,
    }
    async with app.state.hub.sessionmaker() as session:
        used = set((await session.scalars(select(AuditSeal.key_id))).all())
    assert used == {old.key_id, new.key_id}
    report = await _verify(app)
    assert report.ok, report.as_dict()
    with pytest.raises(SealingKeyError, match="retired"):
        async with app.state.hub.sessionmaker() as session:
            await publish_key(session, old)


async def test_retention_archives_old_batches_and_the_rest_still_verifies(
    app: FastAPI,
) -> None:
    await append_and_seal_pulls(app, 20)
    between = datetime.now(UTC)
    await append_and_seal_pulls(app, 10)
    sealer = app.state.hub.audit.sealer
    settings: Settings = app.state.hub.settings
    result = await archive_expired(sealer, settings, older_than=timedelta(0), now=between)
    assert result is not None
    assert (result.first_seal, result.last_seal, result.events) == (0, 1, 20)
    async with app.state.hub.sessionmaker() as session:
        left = (await session.scalars(select(AuditEvent.leaf_index))).all()
    assert sorted(left) == list(range(20, 30))
    report = await _verify(app)
    assert report.ok and report.anchor is not None, report.as_dict()
    assert report.anchor.seal_hash == result.last_seal_hash
    with result.file.open("rb") as handle:
        async with app.state.hub.sessionmaker() as session:
            keys = public_keys_from_document(key_document(await published_keys(session), None))
        archived = verify_jsonl(handle, keys)
    assert archived.ok and archived.events == 20
    # Archive everything; new seals chain to the last archived one.
    everything = await archive_expired(
        sealer, settings, older_than=timedelta(0), now=datetime.now(UTC) + timedelta(days=1)
    )
    assert everything is not None and everything.first_seal == 2
    await append_and_seal_pulls(app, 3)
    report = await _verify(app)
    assert report.ok and report.seals == 1 and report.events == 3, report.as_dict()


async def test_the_running_sealer_applies_the_retention_period(settings: Settings) -> None:
    hub = create_app(
        settings.model_copy(
            update={
                "audit_sealer": True,
                "audit_seal_interval_seconds": 0.2,
                "audit_retention_days": 0.0,
                "audit_archive_check_seconds": 0.0,
            }
        )
    )
    async with hub.router.lifespan_context(hub):
        for i in range(5):
            await hub.state.hub.audit.append(signed_pull(i))
        archived = 0
        for _ in range(100):
            async with hub.state.hub.sessionmaker() as session:
                archived = await session.scalar(select(func.count()).select_from(AuditArchive))
            if archived:
                break
            await asyncio.sleep(0.05)
        assert archived, "nothing was archived"
        assert list((settings.data_dir / "archive").glob("*.jsonl"))
        assert (await _verify(hub)).ok
