"""Validation throughput: the hub's compiled Person validator against raw jsonschema-rs.

Both sides validate the same synthetic valid Person records. The raw side is a jsonschema-rs
validator built from the JSON Schema the hub exports for Person, with the same national
formats registered, so the ratio is what the hub's own work costs on top: the NFC look, the
code-list epoch, the cross-field rules and the Python call. Target: ratio >= 0.7.

Run: ``.venv/bin/python bench/validate.py [N]``. Prints figures; never fails on timing.
"""

from __future__ import annotations

import asyncio
import copy
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import jsonschema_rs
import orjson

from dictionary import Dictionary, RecordValidator, load_dictionary
from dictionary.formats import NATIONAL_FORMATS

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "dictionary" / "fixtures" / "basic"
TARGET_RATIO = 0.7
HTTP_TARGET_RPS = 50_000
HTTP_RECORDS = 100_000
CHUNK_LINES = 2_000
REPEATS = 5


def person_dictionary() -> tuple[Dictionary, str]:
    """The national dictionary when it has a Person, else the engine's test fixture."""
    try:
        national = load_dictionary()
        if "Person" in national.record_types:
            return national, "national"
    except Exception as exc:  # the content may be mid-edit; the bench still runs
        print(f"(national dictionary unusable: {str(exc)[:200]}; using the fixture)")
    return load_dictionary(FIXTURE), "fixture"


def synthetic_records(validator: RecordValidator, n: int, seed: int = 7) -> list[dict[str, Any]]:
    """``n`` distinct valid records: the version's valid examples with fresh ID serials.

    The last six digits of a citizen ID are a free serial (Circular 59/2021/TT-BCA), so
    changing them keeps every rule satisfied.
    """
    templates = [
        t
        for t in validator.record_version.examples.valid
        if isinstance(t, dict) and not validator.validate(t)
    ]
    if not templates:
        raise SystemExit(f"{validator.record_type} has no valid example to build records from")
    id_fields = [
        name
        for name, schema in validator.json_schema["properties"].items()
        if schema.get("format") == "citizen_id"
    ]
    rng = random.Random(seed)
    records = []
    for index in range(n):
        record = copy.deepcopy(templates[index % len(templates)])
        for name in id_fields:
            if isinstance(record.get(name), str):
                record[name] = record[name][:6] + f"{rng.randrange(1_000_000):06d}"
        records.append(record)
    return records


def _best_rate(run: Callable[[], None], n: int) -> float:
    best = float("inf")
    for _ in range(REPEATS):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return n / best


def bench_in_process(n: int) -> dict[str, Any]:
    """Records per second for the hub's validator and for raw jsonschema-rs, and their ratio."""
    dictionary, source = person_dictionary()
    hub = dictionary.validator("Person")
    raw = jsonschema_rs.Draft202012Validator(
        hub.json_schema, formats=NATIONAL_FORMATS, validate_formats=True
    )
    records = synthetic_records(hub, n)
    hub_invalid = sum(1 for r in records if hub.validate(r))
    raw_invalid = sum(1 for r in records if not raw.is_valid(r))
    if hub_invalid or raw_invalid:
        raise SystemExit(f"synthetic records invalid: hub {hub_invalid}, raw {raw_invalid}")

    validate = hub.validate
    is_valid = raw.is_valid

    def run_hub() -> None:
        for record in records:
            validate(record)

    def run_raw() -> None:
        for record in records:
            is_valid(record)

    run_hub()  # warm the caches on both sides
    run_raw()
    raw_rate = _best_rate(run_raw, n)
    hub_rate = _best_rate(run_hub, n)
    ratio = hub_rate / raw_rate
    result = {
        "dictionary": source,
        "record_type": "Person",
        "version": hub.version,
        "records": n,
        "hub_records_per_s": round(hub_rate),
        "raw_records_per_s": round(raw_rate),
        "ratio": round(ratio, 3),
        "target": TARGET_RATIO,
        "meets_target": ratio >= TARGET_RATIO,
    }
    print(f"in-process validation of {n} valid Person {hub.version} records ({source} dictionary)")
    print(f"  hub validator      {hub_rate:>12,.0f} records/s")
    print(f"  raw jsonschema-rs  {raw_rate:>12,.0f} records/s")
    print(f"  ratio              {ratio:>12.3f}   (target >= {TARGET_RATIO})")
    return result


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def _create_consumer(database_url: str) -> str:
    from app.db import create_engine, create_sessionmaker
    from app.security import service
    from app.security.roles import Role

    engine = create_engine(database_url)
    try:
        async with create_sessionmaker(engine).begin() as session:
            _client, _key, plaintext = await service.create_client(
                session, name="bench-validate", agency="Benchmark", roles=[Role.consumer]
            )
            return plaintext
    finally:
        await engine.dispose()


def _wait_ready(base_url: str, server: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the hub exited with {server.returncode} before it was ready")
        try:
            if httpx.get(f"{base_url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("the hub did not become ready in time")


def _post_ndjson(base_url: str, api_key: str, chunks: list[bytes]) -> tuple[float, int, int]:
    """Stream the chunks in, read the result lines out; (seconds, lines, valid lines)."""
    lines = valid = 0
    started = time.perf_counter()
    with (
        httpx.Client(timeout=300) as http,
        http.stream(
            "POST",
            f"{base_url}/v1/validate/Person/batch",
            headers={"Authorization": f"Bearer {api_key}", "content-type": "application/x-ndjson"},
            content=iter(chunks),
        ) as response,
    ):
        if response.status_code != 200:
            raise SystemExit(
                f"batch validation answered {response.status_code}: {response.read()!r}"
            )
        for line in response.iter_lines():
            if line:
                lines += 1
                valid += line.startswith('{"line"') and '"valid":true' in line
    return time.perf_counter() - started, lines, valid


def bench_http_batch(n: int, in_process_rate: float) -> dict[str, Any]:
    """NDJSON batch validation through one uvicorn worker, in records/s and against in-process."""
    from app import migrate

    dictionary, _source = person_dictionary()
    records = synthetic_records(dictionary.validator("Person"), n)
    payload = [orjson.dumps(r) + b"\n" for r in records]
    chunks = [b"".join(payload[i : i + CHUNK_LINES]) for i in range(0, n, CHUNK_LINES)]
    with tempfile.TemporaryDirectory(prefix="bench-validate-") as tmp:
        database_url = f"sqlite+aiosqlite:///{tmp}/hub.db"
        migrate.upgrade(database_url)
        api_key = asyncio.run(_create_consumer(database_url))
        port = _free_port()
        env = {
            **os.environ,
            "HUB_DATABASE_URL": database_url,
            "HUB_DATA_DIR": f"{tmp}/data",
            "HUB_LOG_LEVEL": "warning",
        }
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory",
             "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
             "--log-level", "warning", "--no-access-log"],
            env=env,
        )  # fmt: skip
        base_url = f"http://127.0.0.1:{port}"
        try:
            _wait_ready(base_url, server)
            _post_ndjson(base_url, api_key, chunks[:5])  # warm up
            best = float("inf")
            for _ in range(3):
                seconds, lines, valid = _post_ndjson(base_url, api_key, chunks)
                if lines != n or valid != n:
                    raise SystemExit(
                        f"expected {n} valid result lines, got {lines} ({valid} valid)"
                    )
                best = min(best, seconds)
        finally:
            server.terminate()
            server.wait(timeout=30)
    rate = n / best
    ratio = rate / in_process_rate
    print(f"HTTP NDJSON batch validation of {n} Person records, one uvicorn worker")
    print(f"  through the hub    {rate:>12,.0f} records/s   (target >= {HTTP_TARGET_RPS:,})")
    print(f"  ratio to in-process{ratio:>12.3f}")
    return {"records": n, "records_per_s": round(rate), "ratio_to_in_process": round(ratio, 3)}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    n = int(args[0]) if args else 50_000
    http_n = int(args[1]) if len(args) > 1 else HTTP_RECORDS
    in_process = bench_in_process(n)
    bench_http_batch(http_n, in_process["hub_records_per_s"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
