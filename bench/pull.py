"""Benchmark: GET /v1/records/Person/{id} through the hub against the population mock direct.

Both run as their own uvicorn process (one worker each, loopback): the mock from
``declare-once mock population`` and the hub from ``declare-once serve`` on a migrated
SQLite file in a temp folder, with the population connector registered and a consumer
holding an access right. The same lean keep-alive client (CONNECTIONS connections, a fixed
number of seconds per phase after a warm-up) drives both in the same run: direct, hub,
direct again. Prints throughput, p50/p99, the ratio hub/direct (target >= 0.5) and the
hub's added latency at p50 and p99 (targets <= 2 ms and <= 10 ms). On Linux it also prints
the CPU time the hub, the mock and this client spent per request in each phase, and the
hub's CPU-bound ceiling on its one worker (one second over its CPU time per request); the
three share the machine's cores. Never fails on timing.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "16"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "5"))
WARMUP = float(os.environ.get("BENCH_WARMUP", "1.5"))
SUBJECTS = 2000
SOURCE_LATENCY_MS = float(os.environ.get("BENCH_SOURCE_LATENCY_MS", "5"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


def prepare(database_url: str, data_dir: Path) -> dict[str, str]:
    """Migrate, create an integrator and a consumer with a right to Person (in process)."""
    from app import migrate
    from app.db import create_engine, create_sessionmaker
    from app.security import service
    from app.security.roles import Role
    from app.security.schemas import AccessRightIn
    from dictionary import load_dictionary

    migrate.upgrade(database_url)

    async def run() -> dict[str, str]:
        engine = create_engine(database_url)
        try:
            async with create_sessionmaker(engine).begin() as session:
                _integrator, _, integrator_key = await service.create_client(
                    session, name="bench-integrator", agency="bench", roles=[Role.integrator]
                )
                consumer, _, consumer_key = await service.create_client(
                    session, name="bench-consumer", agency="bench", roles=[Role.consumer]
                )
                dictionary = load_dictionary()
                fields = [f.name for f in dictionary.record_type("Person").latest().fields]
                await service.replace_access_rights(
                    session,
                    dictionary,
                    consumer.id,
                    [
                        AccessRightIn(
                            record_type="Person",
                            fields=fields,
                            purposes=["identity-check"],
                            legal_basis="Decree 278/2025/ND-CP, Art. 12",
                        )
                    ],
                )
            return {"integrator": integrator_key, "consumer": consumer_key}
        finally:
            await engine.dispose()

    return asyncio.run(run())


class Phase:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.errors = 0
        self.statuses: dict[int, int] = {}
        self.elapsed = 0.0
        self.cpu: dict[str, float] = {}


async def _connection(
    port: int, paths: list[str], headers: bytes, phase: list[Phase], stop: list[bool], offset: int
) -> None:
    """One keep-alive HTTP/1.1 connection, a request at a time; a small parser, so the
    client costs little CPU next to the servers it measures."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    i = offset
    try:
        while not stop[0]:
            path = paths[i % len(paths)]
            i += 1
            started = time.perf_counter()
            writer.write(
                b"GET " + path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n" + headers + b"\r\n"
            )
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
                    break
            await reader.readexactly(length)
            elapsed = time.perf_counter() - started
            current = phase[0]
            current.statuses[status] = current.statuses.get(status, 0) + 1
            if status == 200:
                current.latencies.append(elapsed)
            else:
                current.errors += 1
    finally:
        writer.close()


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far (Linux /proc), None where unavailable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def drive(
    port: int,
    paths: list[str],
    headers: dict[str, str],
    connections: int = CONNECTIONS,
    watch: dict[str, int] | None = None,
) -> Phase:
    """Load ``port`` for SECONDS after a warm-up; ``watch`` names processes (name -> pid)
    whose CPU time over the measured window is kept on the phase."""
    raw = b"".join(f"{k}: {v}\r\n".encode() for k, v in headers.items())
    phase = [Phase()]
    stop = [False]
    watch = watch or {}
    tasks = [
        asyncio.create_task(_connection(port, paths, raw, phase, stop, n * 97))
        for n in range(connections)
    ]
    await asyncio.sleep(WARMUP)
    phase[0] = Phase()
    cpu_before = {name: cpu_seconds(pid) for name, pid in watch.items()}
    started = time.perf_counter()
    await asyncio.sleep(SECONDS)
    measured = phase[0]
    elapsed = time.perf_counter() - started
    cpu_after = {name: cpu_seconds(pid) for name, pid in watch.items()}
    measured.cpu = {
        name: after - before
        for name, before in cpu_before.items()
        if before is not None and (after := cpu_after[name]) is not None
    }
    stop[0] = True
    await asyncio.gather(*tasks, return_exceptions=True)
    measured.elapsed = elapsed
    return measured


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else float("nan")


def summary(name: str, phase: Phase) -> dict[str, Any]:
    elapsed = phase.elapsed
    figures = {
        "name": name,
        "requests": len(phase.latencies),
        "errors": phase.errors,
        "rps": len(phase.latencies) / elapsed,
        "p50": quantile(phase.latencies, 0.50),
        "p99": quantile(phase.latencies, 0.99),
        "cpu": phase.cpu,
        "elapsed": elapsed,
    }
    cpu: dict[str, float] = phase.cpu
    ok = max(1, len(phase.latencies))
    per_request = ", ".join(f"{who} {seconds / ok * 1e6:.0f} us" for who, seconds in cpu.items())
    print(
        f"{name:<8} {figures['rps']:>9.0f} req/s  p50 {figures['p50']:>7.2f} ms  "
        f"p99 {figures['p99']:>7.2f} ms  ({figures['requests']} ok, {phase.errors} errors "
        f"{ {k: v for k, v in phase.statuses.items() if k != 200} or '' })"
        + (f"  CPU per request: {per_request}" if per_request else "")
    )
    return figures


def slow_source(
    mock_port: int,
    hub_port: int,
    direct_paths: list[str],
    hub_paths: list[str],
    direct_headers: dict[str, str],
    hub_headers: dict[str, str],
) -> None:
    """A second, separately labelled scenario: the same run with the mock answering after
    SOURCE_LATENCY_MS, as a database-backed national system does. The figures above, against
    a mock that answers from memory at once, remain the ones the targets are judged on."""
    faults = f"http://127.0.0.1:{mock_port}/__faults"
    httpx.put(faults, json={"latency_ms": SOURCE_LATENCY_MS}, timeout=10).raise_for_status()
    try:
        print(
            f"with {SOURCE_LATENCY_MS:g} ms of source latency injected on the mock "
            f"({CONNECTIONS} connections; a separate scenario, not the target's):"
        )
        direct = summary("direct", asyncio.run(drive(mock_port, direct_paths, direct_headers)))
        hub = summary("hub", asyncio.run(drive(hub_port, hub_paths, hub_headers)))
        ratio = hub["rps"] / direct["rps"] if direct["rps"] else float("nan")
        print(
            f"  throughput ratio hub/direct: {ratio:.2f}; hub added latency p50 "
            f"{hub['p50'] - direct['p50']:.2f} ms, p99 {hub['p99'] - direct['p99']:.2f} ms"
        )
    finally:
        httpx.delete(faults, timeout=10)


def main() -> int:
    from connectors.mocks import MockSettings
    from connectors.mocks.dataset import Dataset

    workdir = Path(tempfile.mkdtemp(prefix="bench-pull-"))
    database_url = f"sqlite+aiosqlite:///{workdir / 'hub.db'}"
    data_dir = workdir / "data"
    keys = prepare(database_url, data_dir)
    mock_port, hub_port = free_port(), free_port()
    env = {
        **os.environ,
        "HUB_DATABASE_URL": database_url,
        "HUB_DATA_DIR": str(data_dir),
        "HUB_LOG_LEVEL": "warning",
        "HUB_PORT": str(hub_port),
    }
    cli = [sys.executable, "-m", "app"]
    processes = [
        subprocess.Popen(
            [*cli, "mock", "population", "--port", str(mock_port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ),
        subprocess.Popen(
            [*cli, "serve", "--port", str(hub_port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=sys.stderr,
        ),
    ]
    try:
        wait_ready(f"http://127.0.0.1:{mock_port}/__stats")
        wait_ready(f"http://127.0.0.1:{hub_port}/healthz")
        settings = MockSettings()
        registered = httpx.post(
            f"http://127.0.0.1:{hub_port}/v1/connectors",
            headers={"Authorization": f"Bearer {keys['integrator']}"},
            json={
                "system": "population",
                "base_url": f"http://127.0.0.1:{mock_port}",
                "auth": {"kind": "api_key", "header": "X-API-Key", "key": settings.api_key},
                "record_types": ["Person"],
                "max_concurrency": 64,
            },
            timeout=30,
        )
        registered.raise_for_status()
        if not registered.json()["enabled"]:
            print("the connector's probe failed:", json.dumps(registered.json()["probe"]))
            return 1
        dataset = Dataset(settings)
        subjects = [dataset.citizen_id(i) for i in range(min(SUBJECTS, dataset.size))]
        direct_paths = [f"/api/v2/cong-dan/{s}" for s in subjects]
        hub_paths = [f"/v1/records/Person/{s}" for s in subjects]
        direct_headers = {"X-API-Key": settings.api_key}
        hub_headers = {
            "Authorization": f"Bearer {keys['consumer']}",
            "X-User-Id": "bench-officer",
            "X-Purpose": "identity-check",
        }
        print(
            f"GET Person: {CONNECTIONS} connections, {SECONDS:.0f} s per phase after "
            f"{WARMUP:.1f} s warm-up; hub and mock one uvicorn worker each on loopback"
        )
        watch = {"hub": processes[1].pid, "mock": processes[0].pid, "client": os.getpid()}
        first = summary(
            "direct", asyncio.run(drive(mock_port, direct_paths, direct_headers, watch=watch))
        )
        hub = summary("hub", asyncio.run(drive(hub_port, hub_paths, hub_headers, watch=watch)))
        second = summary(
            "direct", asyncio.run(drive(mock_port, direct_paths, direct_headers, watch=watch))
        )
        direct = {
            "rps": (first["rps"] + second["rps"]) / 2,
            "p50": (first["p50"] + second["p50"]) / 2,
            "p99": (first["p99"] + second["p99"]) / 2,
        }
        ratio = hub["rps"] / direct["rps"] if direct["rps"] else float("nan")
        print(f"throughput ratio hub/direct: {ratio:.2f}  (target >= 0.5)")
        hub_cpu = hub["cpu"].get("hub")
        if hub_cpu and hub["requests"]:
            per_request = hub_cpu / hub["requests"]
            print(
                f"hub CPU-bound ceiling on one worker: {1 / per_request:.0f} req/s "
                f"({per_request * 1e6:.0f} us of hub CPU per request; "
                f"{hub_cpu / hub['elapsed']:.0%} of a core used)"
            )
        print(
            f"hub added latency at {CONNECTIONS} connections: p50 "
            f"{hub['p50'] - direct['p50']:.2f} ms (target <= 2 ms), "
            f"p99 {hub['p99'] - direct['p99']:.2f} ms (target <= 10 ms)"
        )
        print("unloaded (1 connection), to separate the hub's own cost from queueing:")
        lone_direct = summary(
            "direct", asyncio.run(drive(mock_port, direct_paths, direct_headers, 1, watch))
        )
        lone_hub = summary("hub", asyncio.run(drive(hub_port, hub_paths, hub_headers, 1, watch)))
        print(
            f"hub added latency at 1 connection: p50 {lone_hub['p50'] - lone_direct['p50']:.2f} "
            f"ms, p99 {lone_hub['p99'] - lone_direct['p99']:.2f} ms"
        )
        if SOURCE_LATENCY_MS > 0:
            slow_source(mock_port, hub_port, direct_paths, hub_paths, direct_headers, hub_headers)
        return 0
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


if __name__ == "__main__":
    sys.exit(main())
