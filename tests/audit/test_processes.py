"""The log across processes: two hub instances appending to one PostgreSQL give one chain,
and a hub killed with SIGKILL under load loses no acknowledged event."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from app.audit.keys import key_document, public_keys_from_document, published_keys
from app.audit.models import AuditEvent, AuditSeal
from app.audit.sealer import Sealer
from app.audit.verify import verify_database
from app.config import Settings
from app.db import create_engine, create_sessionmaker
from app.security import service as security_service
from app.security.roles import Role
from tests.helpers.hub_process import free_port, start_hub, wait_ready

ROOT = Path(__file__).resolve().parents[2]

WORKER = textwrap.dedent(
    """
    import asyncio, sys
    from app.events import AuditEntry
    from app.audit.service import AuditLog, load_subject_key
    from app.config import Settings
    from app.db import create_engine, create_sessionmaker

    async def main(url, data_dir, count, tag):
        settings = Settings(database_url=url, data_dir=data_dir, audit_seal_max_events=2000)
        engine = create_engine(url)
        audit = AuditLog(create_sessionmaker(engine), load_subject_key(settings), settings=settings)
        await audit.start()
        async def writer(w):
            for i in range(w, count, 64):
                await audit.append(AuditEntry(kind="data.pull", outcome="allowed",
                                              request_id=f"{tag}-{i:06d}", fields=["hoVaTen"]))
        await asyncio.gather(*(writer(w) for w in range(64)))
        await asyncio.sleep(0.5)
        await audit.stop()
        await engine.dispose()
        print(audit.stats.events, audit.stats.commits, audit.sealer.stats.seals)

    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]))
    """
)


async def _verify(url: str) -> tuple[bool, dict[str, object], list[int | None], int]:
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session:
            keys = public_keys_from_document(key_document(await published_keys(session), None))
            report = await verify_database(session, keys)
            leaves = list(
                (
                    await session.scalars(
                        select(AuditEvent.leaf_index).order_by(AuditEvent.leaf_index)
                    )
                ).all()
            )
            signers = await session.scalar(select(func.count(func.distinct(AuditSeal.key_id))))
    finally:
        await engine.dispose()
    return report.ok, report.as_dict(), leaves, signers or 0


@pytest.mark.slow
async def test_two_instances_appending_at_once_make_one_chain(
    database_url: str, tmp_path: Path
) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("several hub instances share PostgreSQL, not an SQLite file")
    per_instance = 5_000
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            WORKER,
            database_url,
            str(tmp_path / f"data-{tag}"),
            str(per_instance),
            tag,
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for tag in ("a", "b")
    ]
    for proc in procs:
        _out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
        assert proc.returncode == 0, err.decode()[-2000:]
    # Whatever the instances left unsealed when they stopped, any instance seals later.
    sealer = Sealer(Settings(database_url=database_url, data_dir=tmp_path / "data-a"))
    try:
        await sealer.prepare()
        await sealer.seal_pending()
    finally:
        await sealer.stop()
    ok, report, leaves, signers = await _verify(database_url)
    assert ok, report
    assert report["events_verified"] == 2 * per_instance
    assert leaves == list(range(2 * per_instance))
    assert signers >= 1


@pytest.mark.slow
async def test_every_acknowledged_request_survives_kill_9_and_is_sealed(
    sqlite_template: Path, tmp_path: Path
) -> None:
    db = tmp_path / "hub.db"
    shutil.copyfile(sqlite_template, db)
    url = f"sqlite+aiosqlite:///{db}"
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine).begin() as session:
            _client, _key, api_key = await security_service.create_client(
                session, name="kill-auditor", agency="Inspectorate", roles=[Role.auditor]
            )
    finally:
        await engine.dispose()
    env = {**os.environ, "HUB_DATABASE_URL": url, "HUB_DATA_DIR": str(tmp_path / "data")}
    port = free_port()
    headers = {"Authorization": f"Bearer {api_key}"}
    acknowledged: list[str] = []
    proc = start_hub(env, port)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            await wait_ready(http, proc)
            # Every proof request is itself an audit event (auditors are audited): it is
            # answered only after that event is committed.
            first = await http.get("/v1/audit/verify", headers=headers)
            assert first.status_code == 200
            deadline = time.monotonic() + 10
            while (await http.get("/v1/audit/events/1/proof", headers=headers)).status_code != 200:
                assert time.monotonic() < deadline, "event 1 was never sealed"
                await asyncio.sleep(0.1)
            stop = asyncio.Event()

            async def load(worker: int) -> None:
                n = 0
                while not stop.is_set():
                    rid = f"kill-{worker:02d}-{n:06d}"
                    n += 1
                    try:
                        answer = await http.get(
                            "/v1/audit/events/1/proof", headers={**headers, "X-Request-Id": rid}
                        )
                    except httpx.TransportError:
                        return
                    if 200 <= answer.status_code < 300:
                        acknowledged.append(rid)

            workers = [asyncio.create_task(load(w)) for w in range(16)]
            await asyncio.sleep(2.0)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
            await asyncio.sleep(0.2)
            stop.set()
            await asyncio.gather(*workers)
        assert len(acknowledged) > 20, "the load did not get going"
        print(f"{len(acknowledged)} requests acknowledged before kill -9")
        proc = start_hub(env, port)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            await wait_ready(http, proc)
            engine = create_engine(url)
            try:
                deadline = time.monotonic() + 15
                while True:
                    async with create_sessionmaker(engine)() as session:
                        rows = (
                            await session.execute(
                                select(AuditEvent.request_id, AuditEvent.leaf_index).where(
                                    AuditEvent.request_id.like("kill-%")
                                )
                            )
                        ).all()
                    stored = {r.request_id: r.leaf_index for r in rows}
                    missing = [rid for rid in acknowledged if rid not in stored]
                    assert not missing, f"{len(missing)} acknowledged events lost: {missing[:5]}"
                    unsealed = [rid for rid in acknowledged if stored[rid] is None]
                    if not unsealed:
                        break
                    assert time.monotonic() < deadline, f"{len(unsealed)} never sealed"
                    await asyncio.sleep(0.2)
            finally:
                await engine.dispose()
        ok, report, _leaves, _signers = await _verify(url)
        assert ok, report
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=10)
