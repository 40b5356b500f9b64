"""Trust anchors of the access log (app/audit/verify.py): an archive anchor counts only when
the hub signed it, and a pinned head (a seal saved earlier) catches a log cut at either end,
in the hub's verifier (``GET /v1/audit/verify``) and the offline one (``verify --file``)."""

from __future__ import annotations

import asyncio
import base64
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI
from sqlalchemy import select, text
from typer.testing import CliRunner

from app.audit.keys import key_document, key_id_of, public_keys_from_document, published_keys
from app.audit.models import AuditArchive, AuditSeal
from app.audit.retention import archive_expired
from app.audit.serialize import anchor_body_bytes
from app.audit.verify import PinnedHead, Report, export_lines, verify_database, verify_jsonl
from app.cli import cli
from app.config import Settings
from tests.helpers.audit_log import append_and_seal, sealing_on_demand
from tests.helpers.clients import MakeClient


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return sealing_on_demand(database_url, tmp_path)


async def _keys_document(app: FastAPI) -> dict[str, Any]:
    async with app.state.hub.sessionmaker() as session:
        return key_document(await published_keys(session), None)


async def _export(app: FastAPI, path: Path) -> list[dict[str, Any]]:
    async with app.state.hub.sessionmaker() as session:
        with path.open("wb") as handle:
            async for chunk in export_lines(session):
                handle.write(chunk)
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]  # noqa: ASYNC240


def _write(path: Path, lines: list[dict[str, Any]]) -> None:
    path.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))


def _verify_file(path: Path, keys_doc: dict[str, Any], pinned: PinnedHead | None = None) -> Report:
    with path.open("rb") as handle:
        return verify_jsonl(handle, public_keys_from_document(keys_doc), pinned=pinned)


def _cut_oldest(lines: list[dict[str, Any]], seals: int) -> tuple[list[dict[str, Any]], dict]:
    """The export without its first ``seals`` batches, and the last cut seal line."""
    body = lines[1:]
    cut = 0
    for i, line in enumerate(body):
        if line["type"] == "seal":
            cut += 1
            if cut == seals:
                return body[i + 1 :], line
    raise AssertionError("not enough seals")


async def _sql(app: FastAPI, statement: str, **params: Any) -> None:
    async with app.state.hub.engine.begin() as conn:
        await conn.execute(text(statement), params)


async def test_an_export_cut_at_its_oldest_batches_with_a_matching_anchor_is_refused(
    app: FastAPI, tmp_path: Path
) -> None:
    await append_and_seal(app, 30)
    keys_doc = await _keys_document(app)
    export = tmp_path / "log.jsonl"
    lines = await _export(app, export)
    assert _verify_file(export, keys_doc).ok
    rest, last_cut = _cut_oldest(lines, 2)
    anchor = {"seal_index": 1, "seal_hash": last_cut["seal_hash"], "leaf_end": 20}
    forged = tmp_path / "forged.jsonl"
    _write(forged, [{**lines[0], "anchor": anchor}, *rest])
    report = _verify_file(forged, keys_doc)
    assert report.first is not None, report.as_dict()
    assert (report.first.code, report.first.seal_index) == ("anchor_unsigned", 1)
    # Signed, but by a key the hub never published: still refused.
    intruder = Ed25519PrivateKey.generate()
    signed = {
        **anchor,
        "kind": "archive",
        "signed_at": "2026-12-01T00:00:00.000000Z",
        "key_id": key_id_of(intruder.public_key().public_bytes_raw()),
    }
    signed["signature"] = base64.b64encode(intruder.sign(anchor_body_bytes(signed))).decode()
    _write(forged, [{**lines[0], "anchor": signed}, *rest])
    report = _verify_file(forged, keys_doc)
    assert report.first is not None and report.first.code == "anchor_invalid"
    # Signed by the hub's key over other numbers: the signature does not verify.
    _write(forged, [{**lines[0], "anchor": {**signed, "key_id": keys_doc["keys"][0]["key_id"]}}])
    report = _verify_file(forged, keys_doc)
    assert report.first is not None and report.first.code == "anchor_invalid"


async def test_a_database_cut_at_its_oldest_batches_and_re_anchored_fails_on_the_hub(
    app: FastAPI, client: httpx.AsyncClient, make_api_client: MakeClient
) -> None:
    auditor = await make_api_client("auditor")
    await append_and_seal(app, 30)
    async with app.state.hub.sessionmaker() as session:
        seal_1 = await session.get(AuditSeal, 1)
        assert seal_1 is not None
        seal_1_hash = seal_1.seal_hash
    await _sql(app, "DELETE FROM audit_events WHERE leaf_index < 20")
    await _sql(app, "DELETE FROM audit_seals WHERE seal_index <= 1")
    await _sql(
        app,
        "INSERT INTO audit_archives (file, file_sha256, first_seal, last_seal, leaf_end, "
        "last_seal_hash, events, created_at) VALUES ('x', :zero, 0, 1, 20, :h, 20, :now)",
        zero="0" * 64,
        h=seal_1_hash,
        now=datetime.now(UTC),
    )
    report = (await client.get("/v1/audit/verify", headers=auditor.headers)).json()
    assert report["ok"] is False
    assert report["first_problem"]["code"] == "anchor_unsigned"
    assert report["first_problem"]["seal_index"] == 1


async def test_a_real_archive_has_a_signed_anchor_that_verifies_in_both_verifiers(
    app: FastAPI, tmp_path: Path
) -> None:
    await append_and_seal(app, 20)
    between = datetime.now(UTC)
    await append_and_seal(app, 10)
    result = await archive_expired(
        app.state.hub.audit.sealer, app.state.hub.settings, older_than=timedelta(0), now=between
    )
    assert result is not None and result.last_seal == 1
    async with app.state.hub.sessionmaker() as session:
        archive = await session.scalar(select(AuditArchive))
        assert archive is not None and archive.anchor_signature
        keys = public_keys_from_document(key_document(await published_keys(session), None))
        stored = await verify_database(session, keys)
    assert stored.ok and stored.anchor is not None and stored.anchor.kind == "archive"
    export = tmp_path / "log.jsonl"
    lines = await _export(app, export)
    assert lines[0]["anchor"]["signature"] == archive.anchor_signature
    assert _verify_file(export, await _keys_document(app)).ok
    # A second archive's file starts from the first archive's signed anchor.
    again = await archive_expired(
        app.state.hub.audit.sealer,
        app.state.hub.settings,
        older_than=timedelta(0),
        now=datetime.now(UTC) + timedelta(days=1),
    )
    assert again is not None
    assert _verify_file(again.file, await _keys_document(app)).ok


async def test_a_pinned_head_catches_a_log_whose_newest_seals_and_events_were_removed(
    app: FastAPI, client: httpx.AsyncClient, make_api_client: MakeClient, tmp_path: Path
) -> None:
    auditor = await make_api_client("auditor")
    await append_and_seal(app, 30)
    first = (await client.get("/v1/audit/verify", headers=auditor.headers)).json()
    head = f"{first['head']['seal_index']}:{first['head']['seal_hash']}"
    assert first["head"]["seal_index"] == 2
    pinned_ok = await client.get(
        "/v1/audit/verify", params={"pinned_head": head}, headers=auditor.headers
    )
    assert pinned_ok.json()["ok"] is True, pinned_ok.json()
    keys_doc = await _keys_document(app)
    export = tmp_path / "log.jsonl"
    await _export(app, export)
    assert _verify_file(export, keys_doc, PinnedHead.parse(head)).ok
    # The newest batch, its seal and its events go: the log alone still verifies...
    await _sql(app, "DELETE FROM audit_events WHERE leaf_index >= 20")
    await _sql(app, "DELETE FROM audit_seals WHERE seal_index = 2")
    alone = (await client.get("/v1/audit/verify", headers=auditor.headers)).json()
    assert alone["ok"] is True
    # ...but not against the head the auditor kept.
    cut = (
        await client.get("/v1/audit/verify", params={"pinned_head": head}, headers=auditor.headers)
    ).json()
    assert cut["ok"] is False
    assert cut["first_problem"]["code"] == "pinned_head_missing"
    assert cut["first_problem"]["seal_index"] == 2
    assert "newest seals" in cut["first_problem"]["detail"]
    ranged = (
        await client.get(
            "/v1/audit/verify", params={"to": 5, "pinned_head": head}, headers=auditor.headers
        )
    ).json()
    assert ranged["first_problem"]["code"] == "pinned_head_missing"
    await _export(app, export)
    offline = _verify_file(export, keys_doc, PinnedHead.parse(head))
    assert offline.first is not None and offline.first.code == "pinned_head_missing"
    # A seal with that index but another hash: the log was rewritten.
    other = f"1:{'ab' * 32}"
    rewritten = (
        await client.get("/v1/audit/verify", params={"pinned_head": other}, headers=auditor.headers)
    ).json()
    assert rewritten["first_problem"]["code"] == "pinned_head_mismatch"
    assert rewritten["first_problem"]["seal_index"] == 1


async def test_a_pinned_head_catches_a_log_cut_at_its_oldest_end_and_re_anchored_on_a_seal(
    app: FastAPI, tmp_path: Path
) -> None:
    await append_and_seal(app, 30)
    keys_doc = await _keys_document(app)
    export = tmp_path / "log.jsonl"
    lines = await _export(app, export)
    first_seal = next(line for line in lines if line["type"] == "seal")
    pinned = PinnedHead(0, first_seal["seal_hash"])
    # Re-anchored on a genuine seal (as a range export is): a range verifies on its own...
    rest, last_cut = _cut_oldest(lines, 2)
    seal_anchor = {k: v for k, v in last_cut.items() if k not in ("type", "leaf_hashes")}
    cut = tmp_path / "cut.jsonl"
    _write(cut, [{**lines[0], "anchor": {"kind": "seal", "seal": seal_anchor}}, *rest])
    assert _verify_file(cut, keys_doc).ok
    # ...but not against a head kept from before the cut.
    report = _verify_file(cut, keys_doc, pinned)
    assert report.first is not None
    assert (report.first.code, report.first.seal_index) == ("pinned_head_missing", 0)
    assert "before this log's anchor" in report.first.detail


@pytest.mark.parametrize("mode", ["file", "database"])
async def test_the_command_line_takes_a_pinned_head(
    app: FastAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    settings: Settings = app.state.hub.settings
    monkeypatch.setenv("HUB_DATA_DIR", str(settings.data_dir))
    await append_and_seal(app, 30)
    keys_file = tmp_path / "keys.json"
    keys_file.write_bytes(orjson.dumps(await _keys_document(app)))
    async with app.state.hub.sessionmaker() as session:
        last = await session.get(AuditSeal, 2)
        assert last is not None
        head = f"2:{last.seal_hash}"
    export = tmp_path / "log.jsonl"
    source = ["--file", str(export)] if mode == "file" else ["--database", settings.database_url]
    runner = CliRunner()

    async def verify(*extra: str) -> Any:
        if mode == "file":
            await _export(app, export)
        args = ["audit", "verify", *source, "--public-key", str(keys_file), "--json", *extra]
        return await asyncio.to_thread(runner.invoke, cli, args)

    assert (await verify("--pinned-head", head)).exit_code == 0
    await _sql(app, "DELETE FROM audit_events WHERE leaf_index >= 20")
    await _sql(app, "DELETE FROM audit_seals WHERE seal_index = 2")
    assert (await verify()).exit_code == 0
    cut = await verify("--pinned-head", head)
    assert cut.exit_code == 1 and "pinned_head_missing" in cut.output
    assert (await verify("--pinned-head", "two:beef")).exit_code == 2


async def test_a_malformed_pinned_head_or_an_id_beyond_64_bits_is_refused_with_a_problem(
    client: httpx.AsyncClient, make_api_client: MakeClient
) -> None:
    auditor = await make_api_client("auditor")
    bad_params: list[dict[str, Any]] = [
        {"pinned_head": "2"},
        {"pinned_head": "x:" + "0" * 64},
        {"pinned_head": "1" * 19 + ":" + "0" * 64},
        {"pinned_head": "3:" + "G" * 64},
        {"from": 2**63},
        {"to": 2**63},
        {"from": -1},
    ]
    for bad in bad_params:
        response = await client.get("/v1/audit/verify", params=bad, headers=auditor.headers)
        assert 400 <= response.status_code < 500, (bad, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
