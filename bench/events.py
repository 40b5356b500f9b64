"""Live data: changes in a source system reach 100 webhook subscribers (issue 11).

The population mock runs as its own process (tests/helpers/mock_servers.py); the hub runs in
this process (SQLite, and PostgreSQL when it can create a scratch database:
HUB_BENCH_POSTGRES_URL, default postgresql+asyncpg://postgres@127.0.0.1:5432/test) with its
feed reader, sync-conflict checker and webhook sender running as in production (settings at
their defaults: feeds read every 0.5 s, the sender's poll 0.25 s, 64 webhooks in flight). One
consumer, granted Person for ``identity-check``, holds SUBSCRIPTIONS webhook subscriptions to
Person, all pointing at one local receiver. The receiver is a uvicorn server in a process of
its own (so that counting arrivals takes no CPU from the hub's event loop); it notes the
arrival time of every webhook and answers 204.

A thread plays the source: every 100 ms it injects RATE / 10 name changes into the mock
(``POST /__changes``, one bulk request) for SECONDS seconds. A change's time is when its
request was sent. Printed: changes ingested per second (injected -> ``ingested_at`` in the
change log), webhooks delivered per second, and the lag from injection to arrival at the
receiver at p50 and p99 over every (change, subscription) pair, with the ratio of p99 to the
target (p99 under 2 s at 500 changes/s). A pair not delivered within DRAIN_SECONDS after the
last injection counts with the lag it had reached when the bench stopped waiting, so a p99
that falls among them is a lower bound and printed as such.

Bounded in time (SECONDS + DRAIN_SECONDS per database, set by HUB_BENCH_EVENTS_SECONDS,
HUB_BENCH_EVENTS_DRAIN_SECONDS; the rate by HUB_BENCH_EVENTS_RATE and the number of
subscriptions by HUB_BENCH_EVENTS_SUBSCRIPTIONS); never fails on timing.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app import migrate  # noqa: E402
from app.changes.models import ChangeEvent  # noqa: E402
from app.config import Settings  # noqa: E402
from app.main import create_app  # noqa: E402
from app.security import service as security_service  # noqa: E402
from app.security.roles import Role  # noqa: E402
from app.security.schemas import AccessRightIn  # noqa: E402
from bench.deliveries import drop_postgres, postgres_scratch  # noqa: E402
from tests.helpers.mock_servers import MockServers, free_port  # noqa: E402

SYSTEM = "population"
PURPOSE = "identity-check"
RATE = max(10, min(int(os.environ.get("HUB_BENCH_EVENTS_RATE", "500")), 5000))
SECONDS = max(1.0, min(float(os.environ.get("HUB_BENCH_EVENTS_SECONDS", "10")), 120.0))
SUBSCRIPTIONS = max(1, min(int(os.environ.get("HUB_BENCH_EVENTS_SUBSCRIPTIONS", "100")), 500))
DRAIN_SECONDS = max(5.0, min(float(os.environ.get("HUB_BENCH_EVENTS_DRAIN_SECONDS", "60")), 600))
TICK_SECONDS = 0.1
SUBJECTS = 1000
NAMES = ("Nguyễn Văn Bình", "Trần Thị Mai", "Lê Hoàng Nam", "Phạm Thu Hà", "Vũ Đức Long")
TARGET_P99_SECONDS = 2.0


# -- the receiver: its own process ---------------------------------------------------------


class _ReceiverApp:
    """An ASGI app: ``POST /hooks/{n}`` notes (arrival time, n, body) and answers 204;
    ``GET /__count``, ``GET /__arrivals`` ([time, n, source sequence]) and ``POST /__reset``
    are for the bench."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[float, str, bytes]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        arrived = time.time()
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        path, method = scope["path"], scope["method"]
        status, answer = 204, b""
        if method == "POST" and path.startswith("/hooks/"):
            self.arrivals.append((arrived, path.removeprefix("/hooks/"), body))
        elif path == "/__count":
            status, answer = 200, orjson.dumps(len(self.arrivals))
        elif path == "/__arrivals":
            status, answer = (
                200,
                orjson.dumps(
                    [
                        (t, n, orjson.loads(b)["data"]["source_sequence"])
                        for t, n, b in self.arrivals
                    ]
                ),
            )
        elif method == "POST" and path == "/__reset":
            self.arrivals.clear()
        else:
            status = 404
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-length", str(len(answer)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": answer})


def _serve_receiver(port: int) -> None:
    import uvicorn

    uvicorn.run(
        _ReceiverApp(),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
    )


class Receiver:
    def __init__(self) -> None:
        self.port = free_port()
        self._process = multiprocessing.get_context("spawn").Process(
            target=_serve_receiver, args=(self.port,), daemon=True
        )
        self.base = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Receiver:
        self._process.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{self.base}/__count", timeout=1).raise_for_status()
                return self
            except httpx.HTTPError:
                time.sleep(0.1)
        self._process.terminate()
        raise RuntimeError("the receiver did not start")

    def __exit__(self, *_exc: object) -> None:
        self._process.terminate()
        self._process.join(timeout=10)

    def url(self, n: int) -> str:
        return f"{self.base}/hooks/{n}"

    def reset(self) -> None:
        httpx.post(f"{self.base}/__reset", timeout=10).raise_for_status()


# -- the source: a thread injecting changes at a steady rate --------------------------------


@dataclass
class Injector:
    """Injects RATE changes a second for SECONDS seconds into the mock, in bulk every tick;
    keeps when each source sequence was sent."""

    url: str
    subjects: list[str]
    sent_at: dict[int, float] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)
    late_ticks: int = 0
    started: float = 0.0
    finished: float = 0.0
    done: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        per_tick = max(1, round(RATE * TICK_SECONDS))
        ticks = round(SECONDS / TICK_SECONDS)
        position = 0
        with httpx.Client(timeout=10) as http:
            self.started = time.time()
            for tick in range(ticks):
                due = self.started + tick * TICK_SECONDS
                wait = due - time.time()
                if wait > 0:
                    time.sleep(wait)
                elif wait < -TICK_SECONDS:
                    self.late_ticks += 1
                batch = []
                for _ in range(per_tick):
                    subject = self.subjects[position % len(self.subjects)]
                    name = NAMES[(position // len(self.subjects)) % len(NAMES)]
                    batch.append(
                        {
                            "kind": "person",
                            "subject": subject,
                            "operation": "update",
                            "fields": {"hoVaTen": name},
                        }
                    )
                    position += 1
                sent = time.time()
                answer = http.post(f"{self.url}/__changes", json=batch)
                if answer.status_code != 200:
                    self.refused.append(answer.text[:200])
                    continue
                first, last = answer.json()["sequences"]
                for sequence in range(first, last + 1):
                    self.sent_at[sequence] = sent
            self.finished = time.time()
        self.done.set()


def subjects_of(mocks: MockServers, n: int) -> list[str]:
    """``n`` living citizens without a deliberate defect (their records validate)."""
    dataset = mocks.dataset
    found: list[str] = []
    for index in range(dataset.size):
        if dataset.has_defect(index) or dataset.person(index).is_deceased:
            continue
        found.append(dataset.citizen_id(index))
        if len(found) == n:
            return found
    raise RuntimeError(f"the dataset has only {len(found)} suitable citizens, not {n}")


# -- one run --------------------------------------------------------------------------------


async def _client(app: Any, role: Role, name: str) -> tuple[str, str]:
    async with app.state.hub.sessionmaker.begin() as session:
        created, _key, plaintext = await security_service.create_client(
            session, name=name, agency="Bench commune service centre", roles=[role]
        )
    return created.id, plaintext


async def _prepare(app: Any, http: httpx.AsyncClient, mocks: MockServers, rx: Receiver) -> None:
    """The population connector, one consumer granted Person, and its subscriptions."""
    hub = app.state.hub
    _, integrator_key = await _client(app, Role.integrator, "bench-integrator")
    consumer_id, consumer_key = await _client(app, Role.consumer, "bench-consumer")
    person = hub.dictionary.record_type("Person").latest()
    async with hub.sessionmaker.begin() as session:
        await security_service.replace_access_rights(
            session,
            hub.dictionary,
            consumer_id,
            [
                AccessRightIn(
                    record_type="Person",
                    fields=[f.name for f in person.fields],
                    purposes=[PURPOSE],
                    legal_basis="Law on Identification 2023 (26/2023/QH15), Art. 10",
                )
            ],
        )
    registered = await http.post(
        "/v1/connectors",
        headers={"Authorization": f"Bearer {integrator_key}"},
        json={
            "system": SYSTEM,
            "base_url": mocks.url(SYSTEM),
            "auth": mocks.auth(SYSTEM),
            "record_types": ["Person"],
        },
    )
    registered.raise_for_status()
    consumer = {"Authorization": f"Bearer {consumer_key}"}
    for n in range(SUBSCRIPTIONS):
        created = await http.post(
            "/v1/subscriptions",
            headers=consumer,
            json={"record_types": ["Person"], "purpose": PURPOSE, "url": rx.url(n)},
        )
        if created.status_code != 201:
            raise RuntimeError(f"subscription: {created.status_code} {created.text[:300]}")


async def _ingested(app: Any) -> int:
    async with app.state.hub.sessionmaker() as session:
        return int(
            await session.scalar(
                select(func.count()).select_from(ChangeEvent).where(ChangeEvent.system == SYSTEM)
            )
            or 0
        )


class _Tally(logging.Handler):
    """Counts the hub's warnings and errors (by logger and message) instead of printing
    them with their tracebacks; the counts are printed with the figures."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: dict[str, int] = {}

    def emit(self, record: logging.LogRecord) -> None:
        key = f"{record.name}: {str(record.msg)[:80]}"
        self.messages[key] = self.messages.get(key, 0) + 1


async def run(
    backend: str, url: str, mocks: MockServers, rx: Receiver, data_dir: Path
) -> dict[str, Any]:
    tally = _Tally()
    root = logging.getLogger()
    root.addHandler(tally)
    try:
        figures = await _run(url, mocks, rx, data_dir)
    finally:
        root.removeHandler(tally)
    return {"backend": backend, "logged": tally.messages, **figures}


async def _run(url: str, mocks: MockServers, rx: Receiver, data_dir: Path) -> dict[str, Any]:
    await asyncio.to_thread(migrate.upgrade, url)
    # Production settings: the feed reader, the conflict checker and the webhook sender run.
    settings = Settings(database_url=url, data_dir=data_dir)
    app = create_app(settings)
    mocks.reset()
    rx.reset()
    injector = Injector(mocks.url(SYSTEM), subjects_of(mocks, SUBJECTS))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with (
            httpx.AsyncClient(transport=transport, base_url="http://hub", timeout=60) as http,
            httpx.AsyncClient(base_url=rx.base, timeout=30) as receiver,
        ):
            await _prepare(app, http, mocks, rx)
            thread = threading.Thread(target=injector.run, name="source", daemon=True)
            thread.start()
            await asyncio.to_thread(injector.done.wait, SECONDS * 3 + 30)
            stop_waiting = time.time() + DRAIN_SECONDS
            ingested = received = 0
            while True:
                ingested = await _ingested(app)
                received = int((await receiver.get("/__count")).json())
                expected = len(injector.sent_at) * SUBSCRIPTIONS
                if (ingested >= len(injector.sent_at) and received >= expected) or (
                    time.time() >= stop_waiting
                ):
                    break
                await asyncio.sleep(0.5)
            stopped = time.time()
            async with app.state.hub.sessionmaker() as session:
                logged = list(
                    await session.execute(
                        select(ChangeEvent.source_seq, ChangeEvent.ingested_at).where(
                            ChangeEvent.system == SYSTEM
                        )
                    )
                )
            arrivals = (await receiver.get("/__arrivals")).json()
    return {
        "injector": injector,
        "ingested": {int(r.source_seq): r.ingested_at.timestamp() for r in logged},
        "arrivals": arrivals,
        "stopped": stopped,
    }


# -- figures --------------------------------------------------------------------------------


def _percentile(values: list[float], q: int) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def report(figures: dict[str, Any]) -> None:
    name = figures["backend"]
    injector: Injector = figures["injector"]
    sent_at: dict[int, float] = injector.sent_at
    ingested: dict[int, float] = figures["ingested"]
    stopped: float = figures["stopped"]
    span_in = injector.finished - injector.started
    print(
        f"{name:<9} injected {len(sent_at)} changes in {span_in:.1f} s "
        f"({len(sent_at) / span_in:.0f}/s; ticks late {injector.late_ticks}, "
        f"refused {len(injector.refused)})"
    )
    if ingested:
        last_ingested = max(ingested.values())
        span = last_ingested - injector.started
        ingest_lags = sorted(t - sent_at[s] for s, t in ingested.items() if s in sent_at)
        print(
            f"{name:<9} ingested {len(ingested)} changes: {len(ingested) / span:.0f}/s "
            f"(first injection to last ingested: {span:.1f} s); lag injected -> change log "
            f"p50 {_percentile(ingest_lags, 50):.2f} s, p99 {_percentile(ingest_lags, 99):.2f} s"
        )
    else:
        print(f"{name:<9} ingested nothing")
    first: dict[tuple[str, int], float] = {}
    duplicates = 0
    for arrived, subscription, sequence in figures["arrivals"]:
        key = (subscription, int(sequence))
        if key in first:
            duplicates += 1
            first[key] = min(first[key], arrived)
        else:
            first[key] = arrived
    expected = len(sent_at) * SUBSCRIPTIONS
    lags = [t - sent_at[s] for (_n, s), t in first.items() if s in sent_at]
    missing = expected - len(lags)
    if first:
        last_arrival = max(first.values())
        span = last_arrival - injector.started
        print(
            f"{name:<9} delivered {len(lags)} of {expected} webhooks to {SUBSCRIPTIONS} "
            f"subscriptions: {len(lags) / span:.0f}/s (first injection to last arrival: "
            f"{span:.1f} s); sent twice {duplicates}"
        )
    else:
        print(f"{name:<9} delivered no webhook")
    # A pair still undelivered when the bench stopped waiting counts with the lag it had then.
    censored = sorted(
        stopped - sent_at[s]
        for s in sent_at
        for n in range(SUBSCRIPTIONS)
        if (str(n), s) not in first
    )
    everything = sorted(lags + censored)
    if not everything:
        return
    p50, p99 = _percentile(everything, 50), _percentile(everything, 99)
    bound = f"{DRAIN_SECONDS:.0f} s after the last injection"
    if missing:
        print(f"{name:<9} not delivered within {bound}: {missing} ({missing / expected:.1%})")
    delivered_sorted = sorted(lags)
    lower = "≥ " if censored and p99 >= min(censored) else ""
    lower50 = "≥ " if censored and p50 >= min(censored) else ""
    print(
        f"{name:<9} lag injected -> received, over all {expected} deliveries: "
        f"p50 {lower50}{p50:.2f} s, p99 {lower}{p99:.2f} s"
        + (
            f" (delivered ones only: p50 {_percentile(delivered_sorted, 50):.2f} s, "
            f"p99 {_percentile(delivered_sorted, 99):.2f} s)"
            if missing and delivered_sorted
            else ""
        )
    )
    verdict = "meets" if p99 < TARGET_P99_SECONDS and not missing else "misses"
    print(
        f"{name:<9} p99 / target {TARGET_P99_SECONDS:.0f} s: {lower}{p99 / TARGET_P99_SECONDS:.2f} "
        f"({verdict} the target)"
    )
    for message, count in sorted(figures["logged"].items()):
        print(f"{name:<9} logged {count}x {message}")


def main() -> int:
    print(
        f"{RATE} changes/s injected for {SECONDS:.0f} s into the population mock (its own "
        f"process); {SUBSCRIPTIONS} webhook subscriptions to Person, one receiver (its own "
        f"process); feed reader and sender as in production; waiting at most "
        f"{DRAIN_SECONDS:.0f} s after the last injection"
    )
    with (
        tempfile.TemporaryDirectory() as tmp,
        MockServers(systems=(SYSTEM,)) as mocks,
        Receiver() as rx,
    ):
        sqlite = f"sqlite+aiosqlite:///{Path(tmp) / 'hub.db'}"
        report(asyncio.run(run("sqlite", sqlite, mocks, rx, Path(tmp) / "data-sqlite")))
        pg = asyncio.run(postgres_scratch())
        if pg is not None:
            try:
                report(asyncio.run(run("postgres", pg, mocks, rx, Path(tmp) / "data-pg")))
            finally:
                asyncio.run(drop_postgres(pg))
    return 0


if __name__ == "__main__":
    sys.exit(main())
