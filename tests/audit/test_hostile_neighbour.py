"""Acceptance: a hostile client cannot make its neighbours' pulls fail.

Three consumers pull good records from a real hub process (uvicorn on loopback, PostgreSQL,
the mock population register) while a fourth sends hostile requests for a bounded time: NUL
and other control characters in the path, the query and the fields, citizen IDs where a
record type or field name belongs, forged cursors, bodies nested too deep or holding NUL.
Every good pull must succeed, and no hostile request may get a 5xx.

Before the access log isolated a refused event, one such pull made the writer's *shared*
group-commit transaction fail on PostgreSQL, and with it 53 to 93 of 120 to 180 good pulls
(503 ``audit_unavailable``).
"""

from __future__ import annotations

import asyncio
import base64
import os
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI

from app.config import Settings
from app.security.citizen import issue_citizen_token
from tests.helpers.clients import ApiCredentials, MakeClient
from tests.helpers.hub_process import free_port, start_hub, wait_ready
from tests.helpers.sources import consumer_for, pull_headers, register

DURATION_SECONDS = 6.0
MAX_REQUESTS_PER_WORKER = 400
GOOD_CLIENTS = 3
WORKERS_PER_CLIENT = 3
HOSTILE_WORKERS = 3
STRAY_ID = "079185000123"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _hostile_requests(citizen: str, headers: dict[str, Any]) -> list[dict[str, Any]]:
    """One round of the hostile client: each a keyword set for ``httpx.AsyncClient.request``."""
    deep: Any = "x"
    for _ in range(255):
        deep = [deep]
    huge_cursor = _b64(orjson.dumps({"v": 1, "s": 2**63, "f": "0" * 16}))
    pull = "/v1/records"
    return [
        {"url": f"{pull}/Per%00son/{citizen}"},
        {"url": f"{pull}/Person/{citizen}%00"},
        {"url": f"{pull}/Person/{citizen}?fields=full_name%00{STRAY_ID}"},
        {"url": f"{pull}/Person/{citizen}?fields=%01%02%1f%7f"},
        {"url": f"{pull}/{STRAY_ID}/{citizen}"},
        {"url": f"{pull}/Person/{citizen}?fields={STRAY_ID},full_name"},
        {"url": f"{pull}/Person%0A{STRAY_ID}/{citizen}"},
        {"url": f"{pull}/Person/{STRAY_ID}%20{STRAY_ID}"},
        {"url": f"{pull}/Person/{citizen}", "headers": {"X-Purpose": f"ID {STRAY_ID}"}},
        {"url": f"{pull}/Person/{citizen}", "headers": {"X-Case-Id": "é".encode() * 150}},
        {"url": f"{pull}/Person/{'9' * 5000}"},
        {"url": f"/v1/me/access-log?cursor={huge_cursor}", "citizen": True},
        {"url": f"/v1/audit/events?cursor={huge_cursor}", "auditor": True},
        {"url": "/v1/audit/events?case_id=%00", "auditor": True},
        {"method": "POST", "url": "/v1/consents", "json": {"subject_id": citizen, "x": deep}},
        {
            "method": "POST",
            "url": "/v1/consents",
            "content": b'{"subject_id": "' + citizen.encode() + b'", "purpose": "a\\u0000b"}',
            "headers": {"Content-Type": "application/json"},
        },
        {"method": "PATCH", "url": "/v1/filings/batch", "content": b"[" * 10_000},
    ]


@pytest.fixture
def hub_process(
    app: FastAPI, settings: Settings, tmp_path: Path
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A second hub instance as its own process on the test's database: its base URL and
    its process."""
    port = free_port()
    env = {
        **os.environ,
        "HUB_DATABASE_URL": settings.database_url,
        "HUB_DATA_DIR": str(settings.data_dir),
    }
    log_path = tmp_path / "hub-process.log"
    with log_path.open("wb") as log:
        proc = start_hub(env, port, stderr=log)
    try:
        yield f"http://127.0.0.1:{port}", proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@pytest.mark.slow
async def test_a_hostile_client_never_fails_its_neighbours_pulls(
    app: FastAPI,
    client: httpx.AsyncClient,
    settings: Settings,
    make_api_client: MakeClient,
    mock_servers: Any,
    hub_process: tuple[str, subprocess.Popen[bytes]],
) -> None:
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("the shared group-commit failure is PostgreSQL's (SQLite stores a NUL byte)")
    integrator = await make_api_client("integrator")
    await register(client, integrator, mock_servers, "population")
    good: list[ApiCredentials] = [
        await consumer_for(app, make_api_client, {"Person": None}) for _ in range(GOOD_CLIENTS)
    ]
    hostile = await consumer_for(app, make_api_client, {"Person": None})
    auditor = await make_api_client("auditor")
    citizens = mock_servers.dataset.demo_citizens(3)
    citizen_token = issue_citizen_token(settings, citizens[0])
    rounds = _hostile_requests(citizens[0], pull_headers(hostile))

    good_statuses: Counter[int] = Counter()
    good_failures: Counter[str] = Counter()
    hostile_statuses: Counter[tuple[str, int]] = Counter()

    base_url, proc = hub_process
    async with httpx.AsyncClient(base_url=base_url, timeout=15) as http:
        await wait_ready(http, proc)
        deadline = time.monotonic() + DURATION_SECONDS

        async def pull_good(consumer: ApiCredentials, worker: int) -> None:
            headers = pull_headers(consumer)
            for n in range(MAX_REQUESTS_PER_WORKER):
                if time.monotonic() > deadline:
                    return
                citizen = citizens[(worker + n) % len(citizens)]
                answer = await http.get(f"/v1/records/Person/{citizen}", headers=headers)
                good_statuses[answer.status_code] += 1
                if answer.status_code != 200:
                    good_failures[answer.text[:200]] += 1

        async def send_hostile(worker: int) -> None:
            for n in range(MAX_REQUESTS_PER_WORKER):
                if time.monotonic() > deadline:
                    return
                spec = dict(rounds[(worker + n) % len(rounds)])
                headers: dict[str, Any] = dict(pull_headers(hostile))
                if spec.pop("auditor", False):
                    headers = dict(auditor.headers)
                if spec.pop("citizen", False):
                    headers = {"Authorization": f"Bearer {citizen_token}"}
                headers.update(spec.pop("headers", {}))
                method = spec.pop("method", "GET")
                try:
                    answer = await http.request(method, headers=headers, **spec)
                except httpx.TransportError:
                    hostile_statuses[(spec["url"], -1)] += 1
                    continue
                hostile_statuses[(spec["url"][:60], answer.status_code)] += 1

        await asyncio.gather(
            *(pull_good(c, w) for c in good for w in range(WORKERS_PER_CLIENT)),
            *(send_hostile(w) for w in range(HOSTILE_WORKERS)),
        )

    sent_good = sum(good_statuses.values())
    sent_hostile = sum(hostile_statuses.values())
    print(f"good pulls {dict(good_statuses)}; hostile requests {sent_hostile}")
    assert sent_good >= 30 and sent_hostile >= 30, "the load did not get going"
    assert good_statuses == Counter({200: sent_good}), (good_statuses, good_failures)
    server_errors = {k: n for k, n in hostile_statuses.items() if k[1] >= 500 or k[1] < 0}
    assert not server_errors, server_errors
