"""Key rotation (app/audit/sealer.py): ``audit rotate-key`` reaches every running instance at
its next seal, no seal is signed after its key's ``retired_at``, and both verifiers refuse a
seal that was."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, update
from typer.testing import CliRunner

from app.audit.keys import (
    SealingKeyError,
    key_document,
    public_keys_from_document,
    published_keys,
)
from app.audit.models import AuditEvent, AuditKey, AuditSeal
from app.audit.sealer import Sealer
from app.audit.serialize import format_ts
from app.audit.verify import export_lines, verify_database, verify_jsonl
from app.cli import cli
from app.config import Settings
from app.main import create_app
from tests.helpers.audit_log import pull_event, sealing_on_demand
from tests.helpers.clients import MakeClient


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return sealing_on_demand(database_url, tmp_path)


async def _wait_all_sealed(app: FastAPI) -> None:
    for _ in range(200):  # at most ~10 s
        async with app.state.hub.sessionmaker() as session:
            pending = await session.scalar(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.leaf_index.is_(None))
            )
        if not pending:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("events stayed unsealed")


async def _seals(app: FastAPI) -> list[Any]:
    async with app.state.hub.sessionmaker() as session:
        rows = await session.execute(
            select(AuditSeal.seal_index, AuditSeal.key_id, AuditSeal.sealed_at).order_by(
                AuditSeal.seal_index
            )
        )
        return list(rows)


async def _rotate_with_the_command_line(settings: Settings, monkeypatch: Any) -> str:
    monkeypatch.setenv("HUB_DATA_DIR", str(settings.data_dir))
    result = await asyncio.to_thread(
        CliRunner().invoke,
        cli,
        ["audit", "rotate-key", "--database", settings.database_url],
    )
    assert result.exit_code == 0, result.output
    return str(result.output)


async def test_a_rotation_reaches_every_running_instance_at_its_next_seal(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    running = settings.model_copy(update={"audit_sealer": True, "audit_seal_interval_seconds": 0.1})
    # The second instance's sealer is driven by the test (prepare, then seal_pending below):
    # a background loop of its own would race the explicit calls for the one write lock.
    idle = settings.model_copy(update={"audit_sealer": False})
    first, second = create_app(running), create_app(idle)
    async with first.router.lifespan_context(first), second.router.lifespan_context(second):
        other_sealer: Sealer = second.state.hub.audit.sealer
        await other_sealer.prepare()  # the second instance holds the old key in memory
        for i in range(5):
            await first.state.hub.audit.append(pull_event(i))
        await _wait_all_sealed(first)
        old_key = (await _seals(first))[-1].key_id
        assert other_sealer.current_key_id == old_key

        await _rotate_with_the_command_line(settings, monkeypatch)
        async with first.state.hub.sessionmaker() as session:
            retired_at = await session.scalar(
                select(AuditKey.retired_at).where(AuditKey.key_id == old_key)
            )
        assert retired_at is not None
        for i in range(5):
            await first.state.hub.audit.append(pull_event(i))
        await _wait_all_sealed(first)
        newest = (await _seals(first))[-1]
        assert newest.key_id != old_key
        assert first.state.hub.audit.sealer.current_key_id == newest.key_id

        # The second instance, which never restarted, seals next: it switches too.
        await first.state.hub.audit.sealer.stop()
        for i in range(3):
            await second.state.hub.audit.append(pull_event(i))
        assert await other_sealer.seal_pending() == 1
        assert other_sealer.current_key_id == newest.key_id
        seals = await _seals(second)
        assert seals[-1].key_id == newest.key_id
        retired = format_ts(retired_at)
        assert all(s.sealed_at <= retired for s in seals if s.key_id == old_key), (seals, retired)
        async with second.state.hub.sessionmaker() as session:
            doc = key_document(await published_keys(session), None)
            report = await verify_database(session, public_keys_from_document(doc))
        assert report.ok, report.as_dict()
        assert {k["key_id"]: k["retired_at"] for k in doc["keys"]}[old_key] == retired
        local = orjson.loads((settings.data_dir / "audit-keys" / "public-keys.json").read_bytes())
        assert {k["key_id"]: k["retired_at"] for k in local["keys"]}[old_key] == retired


async def test_a_sealer_whose_key_file_holds_only_the_retired_key_stops_sealing(
    app: FastAPI,
) -> None:
    sealer: Sealer = app.state.hub.audit.sealer
    await sealer.prepare()
    await app.state.hub.audit.append(pull_event(0))
    async with app.state.hub.sessionmaker() as session:
        await session.execute(
            update(AuditKey)
            .where(AuditKey.key_id == sealer.current_key_id)
            .values(retired_at=datetime.now(UTC))
        )
        await session.commit()
    with pytest.raises(SealingKeyError, match="retired"):
        await sealer.seal_pending()
    assert await _seals(app) == []


async def test_a_seal_signed_after_its_keys_retirement_is_invalid_in_both_verifiers(
    app: FastAPI, client: httpx.AsyncClient, make_api_client: MakeClient, tmp_path: Path
) -> None:
    auditor = await make_api_client("auditor")
    sealer: Sealer = app.state.hub.audit.sealer
    await sealer.prepare()
    for batch in range(2):
        for i in range(10):
            await app.state.hub.audit.append(pull_event(batch * 10 + i))
        await sealer.seal_pending()
    seals = await _seals(app)
    assert [s.seal_index for s in seals] == [0, 1] and seals[0].sealed_at < seals[1].sealed_at
    # The key is recorded as retired when seal 0 was made: seal 1 came after.
    retired = datetime.fromisoformat(seals[0].sealed_at.replace("Z", "+00:00"))
    async with app.state.hub.sessionmaker() as session:
        await session.execute(
            update(AuditKey).where(AuditKey.key_id == seals[0].key_id).values(retired_at=retired)
        )
        await session.commit()
    hub = (await client.get("/v1/audit/verify", headers=auditor.headers)).json()
    assert hub["ok"] is False
    problem = hub["first_problem"]
    assert (problem["code"], problem["seal_index"], problem["leaf_index"]) == ("key_retired", 1, 10)
    assert "after its key" in problem["detail"]
    keys_doc = (await client.get("/v1/audit/public-key")).json()
    export = tmp_path / "log.jsonl"
    async with app.state.hub.sessionmaker() as session:
        with export.open("wb") as handle:
            async for chunk in export_lines(session):
                handle.write(chunk)
    with export.open("rb") as handle:
        offline = verify_jsonl(handle, public_keys_from_document(keys_doc))
    assert offline.first is not None
    assert (offline.first.code, offline.first.seal_index) == ("key_retired", 1)
    # Exactly at retired_at is still valid: the seal made at that instant.
    assert [p.seal_index for p in offline.problems] == [1]
