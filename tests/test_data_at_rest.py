"""Data at rest: the data folder is 0700 and every file in it 0600 (database, -wal/-shm, keys,
demo credentials), and the demo's mock control endpoints answer loopback clients only."""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import httpx
import orjson
import pytest
from fastapi import FastAPI

from app.config import Settings
from app.demo import is_loopback
from app.main import create_app
from app.security.keyfiles import make_private, sqlite_files


@contextmanager
def _umask(mask: int) -> Iterator[None]:
    previous = os.umask(mask)
    try:
        yield
    finally:
        os.umask(previous)


def _modes(root: Path) -> tuple[dict[str, int], dict[str, int]]:
    """(files, folders) under ``root``, each name with its permission bits."""
    files: dict[str, int] = {}
    folders = {".": stat.S_IMODE(root.stat().st_mode)}
    for path in root.rglob("*"):
        info = path.lstat()
        kind = folders if stat.S_ISDIR(info.st_mode) else files
        kind[str(path.relative_to(root))] = stat.S_IMODE(info.st_mode)
    return files, folders


def _demo_settings(database_url: str, tmp_path: Path) -> Settings:
    data_dir = tmp_path / "data"
    if database_url.startswith("sqlite"):
        # As in `make run`: the database inside the data folder, left world-readable by an
        # older version of the hub.
        data_dir.mkdir(mode=0o755)
        (source,) = sqlite_files(database_url)[:1]
        shutil.copyfile(source, data_dir / "hub.db")
        os.chmod(data_dir / "hub.db", 0o644)
        database_url = f"sqlite+aiosqlite:///{data_dir / 'hub.db'}"
    return Settings(
        database_url=database_url,
        data_dir=data_dir,
        demo=True,
        auth_cache_seconds=0.0,
        audit_seal_interval_seconds=0.05,
    )


@asynccontextmanager
async def _running(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as http:
            yield app, http


async def test_the_data_folder_and_database_are_owner_only_after_the_hub_starts_and_writes(
    database_url: str, tmp_path: Path
) -> None:
    settings = _demo_settings(database_url, tmp_path)
    leftovers = settings.data_dir / "archive"
    leftovers.mkdir(parents=True, mode=0o755, exist_ok=True)
    (leftovers / "old.jsonl").write_bytes(b"{}\n")
    os.chmod(leftovers / "old.jsonl", 0o644)
    with _umask(0o022):  # the most permissive usual umask: the hub must not depend on it
        async with _running(settings) as (_app, http):
            credentials = orjson.loads((settings.data_dir / "demo-credentials.json").read_bytes())
            admin = {"Authorization": f"Bearer {credentials['clients']['admin']['api_key']}"}
            changed = await http.put(
                "/v1/dictionary/records/Person/compatibility-mode",
                headers=admin,
                json={"mode": "FULL"},
            )
            assert changed.status_code == 200, changed.text
            consumer = credentials["clients"]["consumer"]["api_key"]
            citizen = credentials["citizens"][0]["citizen_id"]
            pulled = await http.get(
                f"/v1/records/Person/{citizen}",
                headers={
                    "Authorization": f"Bearer {consumer}",
                    "X-User-Id": "officer-1",
                    "X-Purpose": "identity-check",
                },
            )
            assert pulled.status_code == 200, pulled.text
            files, folders = _modes(settings.data_dir)
    assert "demo-credentials.json" in files and "archive/old.jsonl" in files
    if settings.is_sqlite:
        assert {"hub.db", "hub.db-wal", "hub.db-shm"} <= set(files)
    assert {name: oct(mode) for name, mode in files.items() if mode != 0o600} == {}
    assert {name: oct(mode) for name, mode in folders.items() if mode != 0o700} == {}


async def test_a_database_outside_the_data_folder_is_owner_only_too(
    database_url: str, tmp_path: Path
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("a server database has no file of the hub's")
    database = sqlite_files(database_url)[0]
    os.chmod(database, 0o644)
    settings = Settings(database_url=database_url, data_dir=tmp_path / "data")
    with _umask(0o022):
        async with _running(settings) as (_app, http):
            assert (await http.get("/v1/dictionary/records")).status_code == 200
    for path in sqlite_files(database_url):
        if path.exists():
            assert oct(stat.S_IMODE(path.stat().st_mode)) == oct(0o600), path


def test_a_home_or_root_folder_is_never_taken_as_the_data_folder() -> None:
    for folder in (Path("/"), Path.home()):
        with pytest.raises(ValueError, match="folder of its own"):
            make_private(folder)


async def test_the_mock_controls_answer_loopback_clients_only(
    database_url: str, tmp_path: Path
) -> None:
    settings = _demo_settings(database_url, tmp_path)
    async with _running(settings) as (app, local):
        remote_transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))
        async with httpx.AsyncClient(
            transport=remote_transport, base_url="http://hub.test"
        ) as remote:
            for method, path in [
                ("GET", "/mock/population/__stats"),
                ("GET", "/mock/population/__faults"),
                ("PUT", "/mock/land/__faults"),
                ("DELETE", "/mock/tax/__stats"),
                ("DELETE", "/mock/civil-status/__tokens"),
            ]:
                refused = await remote.request(method, path, json={"error_rate": 1.0})
                assert refused.status_code == 403, (method, path, refused.text)
                assert refused.headers["content-type"].startswith("application/problem+json")
                assert refused.json()["code"] == "mock_control_loopback_only"
            assert (await remote.get("/v1/dictionary/records")).status_code == 200
        faults = (await local.get("/mock/land/__faults")).json()
        assert faults.get("error_rate", 0) == 0  # the refused PUT changed nothing
        stats = await local.get("/mock/population/__stats")
        assert stats.status_code == 200
        ipv6 = httpx.ASGITransport(app=app, client=("::1", 40000))
        async with httpx.AsyncClient(transport=ipv6, base_url="http://hub.test") as loopback:
            assert (await loopback.get("/mock/tax/__stats")).status_code == 200


def test_loopback_is_recognised_for_hosts_and_clients() -> None:
    for host in ("127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost", "::ffff:127.0.0.1"):
        assert is_loopback(host), host
    for host in ("0.0.0.0", "::", "", "192.168.1.10", "hub.example.gov.vn", "::ffff:10.0.0.1"):
        assert not is_loopback(host), host
