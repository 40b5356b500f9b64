"""Deliveries across real hub processes: two instances sharing one PostgreSQL database send
the outbox between them and each record reaches its owner once; a hub killed with SIGKILL
between a decision and its delivery sends the delivery after it is restarted."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.config import Settings
from app.db import create_engine, create_sessionmaker
from app.deliveries.outbox import enqueue_result
from app.main import create_app
from app.security import service as security_service
from app.security.actor import Actor
from app.security.roles import ClientPrincipal, Role
from dictionary import load_dictionary
from tests.filings.test_end_to_end import Scenario, people_of, scenarios
from tests.helpers.clients import ApiCredentials
from tests.helpers.filings import SYSTEM_RECORD_TYPES, Portal
from tests.helpers.hub_process import free_port, start_hub, wait_ready
from tests.helpers.mock_servers import MockServers
from tests.helpers.sources import connector_body

TRANSFER = "/vbdlis/api/v1/bien-dong/chuyen-nhuong"
FINALISATION = "/tct/api/v1/nnt/{mst}/quyet-toan"
AGENCY = "Ba Dinh commune public service centre"


async def make_clients(database_url: str) -> dict[str, ApiCredentials]:
    """An admin, an integrator and a consumer granted every shipped procedure, made straight
    in the database before any hub process starts."""
    dictionary = load_dictionary()
    engine = create_engine(database_url)
    made: dict[str, ApiCredentials] = {}
    try:
        async with create_sessionmaker(engine).begin() as session:
            for role in ("admin", "integrator", "consumer"):
                created, _key, api_key = await security_service.create_client(
                    session, name=f"delivery-{role}", agency=AGENCY, roles=[Role(role)]
                )
                made[role] = ApiCredentials(created.id, api_key, (role,))
            await security_service.replace_procedure_grants(
                session, dictionary, made["consumer"].client_id, sorted(dictionary.procedures)
            )
    finally:
        await engine.dispose()
    return made


def hub_env(database_url: str, data_dir: Path, **settings: str) -> dict[str, str]:
    env = {
        **os.environ,
        "HUB_DATABASE_URL": database_url,
        "HUB_DATA_DIR": str(data_dir),
        "HUB_DELIVERY_SENDER": "true",
        "HUB_DELIVERY_POLL_SECONDS": "0.1",
        "HUB_CONNECTOR_REFRESH_SECONDS": "0.5",
        # Only deliveries reach the mocks: the connectors' request counters count sends.
        "HUB_CHANGE_FEEDS": "false",
    }
    env.update({f"HUB_{name.upper()}": value for name, value in settings.items()})
    return env


def tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:]


@dataclass(frozen=True)
class HubProcess:
    http: httpx.AsyncClient
    proc: subprocess.Popen[bytes]


@asynccontextmanager
async def running_hub(env: dict[str, str], log: Path) -> AsyncIterator[HubProcess]:
    """A hub process and a client of it; stopped (SIGTERM, then SIGKILL) when the block
    ends, unless it was killed inside."""
    port = free_port()
    with log.open("ab") as stderr:
        proc = start_hub(env, port, stderr=stderr)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=15) as http:
            try:
                await wait_ready(http, proc)
            except AssertionError as exc:
                raise AssertionError(f"{exc}\n{tail(log)}") from exc
            yield HubProcess(http, proc)
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


async def connect(
    http: httpx.AsyncClient, integrator: ApiCredentials, mocks: MockServers, **overrides: Any
) -> dict[str, str]:
    """Register the four mocks as the hub's connectors; their ids by system. A connector
    whose first probe was too slow on a loaded machine is probed once more."""
    ids: dict[str, str] = {}
    for system, record_types in SYSTEM_RECORD_TYPES.items():
        body = connector_body(mocks, system, record_types=record_types)
        body.update(overrides.get(system, {}))
        answer = await http.post("/v1/connectors", headers=integrator.headers, json=body)
        assert answer.status_code == 201, answer.text
        created = answer.json()
        if not created["enabled"]:
            again = await http.patch(
                f"/v1/connectors/{created['id']}",
                headers=integrator.headers,
                json={"reprobe": True, "enabled": True},
            )
            assert again.status_code == 200, again.text
            created = again.json()
            assert created["enabled"], created["probe"]
        ids[system] = created["id"]
    return ids


async def eventually(what: str, check: Callable[[], Awaitable[Any]], seconds: float = 60.0) -> Any:
    """``check()`` until it gives something truthy; at most ``seconds`` and 600 tries."""
    deadline = time.monotonic() + seconds
    last: Any = None
    for _ in range(600):
        last = await check()
        if last:
            return last
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.1)
    raise AssertionError(f"{what}: not within {seconds} s (last seen: {last!r})")


async def deliveries(
    http: httpx.AsyncClient, admin: ApiCredentials, **params: str
) -> list[dict[str, Any]]:
    answer = await http.get(
        "/v1/admin/deliveries", params={"limit": "500", **params}, headers=admin.headers
    )
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


def applied_keys(mocks: MockServers, system: str, endpoint: str) -> list[str]:
    """The idempotency keys the mock applied at ``endpoint``, from its own journal."""
    journal = httpx.get(f"{mocks.url(system)}/__writes", timeout=10).json()
    return sorted(journal["applied"].get(endpoint, []))


# -- two instances, one database


async def connector_requests(
    http: httpx.AsyncClient, integrator: ApiCredentials, connector_id: str
) -> int | None:
    """How many requests this instance's own copy of the connector has made; None while
    the instance does not know the connector yet."""
    answer = await http.get(f"/v1/connectors/{connector_id}/health", headers=integrator.headers)
    assert answer.status_code == 200, answer.text
    stats = answer.json()["stats"]
    return int(stats["requests"]) if stats else None


def finalisations(mocks: MockServers, taxpayers: int, years: range) -> list[dict[str, Any]]:
    """Tax finalisation records the tax mock accepts: active taxpayers registered before
    the first year, one record per taxpayer and year (a year is finalised only once)."""
    dataset = mocks.dataset
    records: list[dict[str, Any]] = []
    chosen = 0
    for ordinal in range(dataset.taxpayer_count):
        taxpayer = dataset.taxpayer(dataset.taxpayer_index(ordinal))
        if taxpayer is None or taxpayer.status != "ACTIVE":
            continue
        if taxpayer.registration_date.year >= years.start:
            continue
        records += [
            {
                "tax_code": taxpayer.tax_code,
                "tax_year": year,
                "obligation_status": "FULFILLED",
                "outstanding_amount": 0,
                "last_filing_date": f"{year + 1}-03-15",
                "as_of_date": f"{year + 1}-03-15",
            }
            for year in years
        ]
        chosen += 1
        if chosen == taxpayers:
            return records
    raise AssertionError("the dataset has too few active taxpayers")


async def stage(
    settings: Settings, consumer: ApiCredentials, records: list[dict[str, Any]]
) -> set[str]:
    """Put one delivery per record in the outbox through the outbox's own ``enqueue_result``,
    in one transaction (so they all fall due at once), from a hub that sends nothing."""
    actor = Actor(
        principal=ClientPrincipal(
            client_id=consumer.client_id,
            name="delivery-consumer",
            agency=AGENCY,
            roles=frozenset({"consumer"}),
            key_id="staging",
        ),
        officer_id="officer-7",
        case_id=None,
        request_id=None,
    )
    application = create_app(settings)
    staged: set[str] = set()
    async with application.router.lifespan_context(application):
        hub = application.state.hub
        async with hub.sessionmaker.begin() as session:
            for number, record in enumerate(records):
                made = await enqueue_result(
                    session,
                    hub,
                    actor,
                    result_id=f"00000000-0000-4000-8000-{number:012d}",
                    filing_id=f"00000000-0000-4000-9000-{number:012d}",
                    procedure="personal-income-tax-finalisation",
                    record_type="TaxObligationStatus",
                    subject_id=record["tax_code"],
                    record=record,
                    replaces={},
                )
                assert [d.system for d in made] == ["tax"], made
                staged.add(made[0].id)
    return staged


@pytest.mark.slow
async def test_two_hub_instances_on_one_postgresql_apply_each_delivery_exactly_once(
    database_url: str, mock_servers: MockServers, tmp_path: Path
) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("several hub instances share PostgreSQL, not an SQLite file")
    clients = await make_clients(database_url)
    admin, integrator = clients["admin"], clients["integrator"]
    data_dir = tmp_path / "data"
    # Small claims, so that one instance cannot take the whole outbox in one go.
    env = hub_env(database_url, data_dir, delivery_batch="4")
    records = finalisations(mock_servers, taxpayers=8, years=range(2021, 2025))
    # Entered in turn: B starts once A has written the keys into the shared data_dir.
    async with (
        running_hub(env, tmp_path / "hub-a.log") as hub_a,
        running_hub(env, tmp_path / "hub-b.log") as hub_b,
    ):
        # Timeouts no loaded machine reaches: a second send of a delivery here could only
        # come from a second claim of it.
        slow = {"timeouts": {"connect": 5.0, "read": 30.0, "total": 30.0}}
        tax = (await connect(hub_a.http, integrator, mock_servers, tax=slow))["tax"]
        mock_servers.reset()  # forget the registration probes' dry runs

        async def requests_made() -> dict[str, int | None]:
            return {
                "a": await connector_requests(hub_a.http, integrator, tax),
                "b": await connector_requests(hub_b.http, integrator, tax),
            }

        async def known_to_both() -> dict[str, int | None] | None:
            made = await requests_made()
            return made if None not in made.values() else None

        before = await eventually("both hubs know the tax connector", known_to_both, 20)
        # Each write takes a moment, so the other instance's poll finds work still due.
        mock_servers.set_faults("tax", latency_ms=100)
        staging = Settings(
            database_url=database_url, data_dir=data_dir, delivery_sender=False, audit_sealer=False
        )
        staged = await stage(staging, clients["consumer"], records)
        assert len(staged) == len(records) == 32

        async def all_delivered() -> list[dict[str, Any]] | None:
            rows = await deliveries(hub_b.http, admin)
            assert not [r for r in rows if r["status"] == "failed"], rows
            done = [r for r in rows if r["status"] == "delivered"]
            return rows if len(done) == len(rows) == len(staged) else None

        rows = await eventually("every delivery delivered", all_delivered, 60)
        after = await requests_made()

    assert {r["id"] for r in rows} == staged
    assert all(r["attempts"] == 1 and r["source_status"] == 200 for r in rows), rows
    # The owner's own counters and journal: each delivery received once, applied once.
    counters = mock_servers.stats("tax")["writes"][FINALISATION]
    assert counters["received"] == len(staged)
    assert counters["applied"] == len(staged)
    assert counters["duplicates"] == 0 and counters["rejected"] == 0
    assert applied_keys(mock_servers, "tax", FINALISATION) == sorted(staged)
    # Both instances sent some: what each one's own copy of the connector sent adds up.
    sent = {name: (after[name] or 0) - (before[name] or 0) for name in ("a", "b")}
    assert sent["a"] > 0 and sent["b"] > 0, sent
    assert sent["a"] + sent["b"] == len(staged), sent


# -- kill -9 between the decision and the delivery


def land_get(mocks: MockServers, path: str) -> dict[str, Any]:
    """What the land system itself answers at ``path``."""
    answer = httpx.get(
        f"{mocks.url('land')}/vbdlis/api/v1{path}", headers=mocks.headers("land"), timeout=10
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def submitted_filing(portal: Portal, scenario: Scenario) -> str:
    """Open, consent, pre-fill, complete and submit the scenario's filing; its id."""
    opened = await portal.open(scenario.procedure, scenario.applicant)
    await portal.fill(opened["id"], scenario.before)
    seen = await portal.get(opened["id"])
    for entry in seen["plan"]:
        if entry["action"] == "pull_with_consent":
            await portal.consent(
                entry["subject"]["citizen_id"],
                scenario.procedure,
                entry["record_type"],
                entry["fields"],
            )
    prefilled = await portal.prefill(opened["id"])
    assert prefilled["status"] == "prefilled"
    await portal.fill(opened["id"], scenario.after)
    submitted = await portal.submit(opened["id"])
    assert submitted.status_code == 200, submitted.text
    return str(opened["id"])


@pytest.mark.slow
async def test_a_hub_killed_between_the_decision_and_the_delivery_delivers_after_restart(
    database_url: str, tmp_path: Path
) -> None:
    clients = await make_clients(database_url)
    admin, integrator, consumer = clients["admin"], clients["integrator"], clients["consumer"]
    data_dir = tmp_path / "data"
    settings = Settings(database_url=database_url, data_dir=data_dir)
    # The lease is written by the instance that claims: the one killed must have taken a
    # short one for its claim to run out soon after it dies.
    env = hub_env(database_url, data_dir, delivery_lease_seconds="2")
    log = tmp_path / "hub.log"
    # Mocks of this test's own: the land mock keeps the killed hub's sends hanging until it
    # stops, and no later test should meet them.
    with MockServers() as mocks:
        people = people_of(mocks)
        scenario = scenarios(people)["land-use-right-transfer"]
        async with running_hub(env, log) as first:
            hub = first.http
            # The land connector waits as long as the land system hangs: the delivery
            # stays claimed (`sending`) instead of timing out into a retry.
            await connect(
                hub,
                integrator,
                mocks,
                land={"timeouts": {"connect": 1.0, "read": 300.0, "total": 600.0}},
            )
            mocks.reset()  # forget the registration probes' dry runs
            portal = Portal(hub, consumer, settings)
            filing_id = await submitted_filing(portal, scenario)
            mocks.set_faults("land", hang_rate=1.0, hang_seconds=3600)
            decided = await portal.decide(filing_id, "approved", result=scenario.result)
            assert decided.status_code == 200, decided.text
            [staged] = decided.json()["deliveries"]
            assert staged["system"] == "land"

            async def claimed() -> bool:
                found = await deliveries(hub, admin, filing_id=filing_id)
                return [d["status"] for d in found] == ["sending"]

            await eventually("the delivery claimed", claimed, seconds=20)
            os.kill(first.proc.pid, signal.SIGKILL)
            first.proc.wait(timeout=10)
        # Whatever the killed hub sent is still hanging in the land mock, never answered.
        assert mocks.stats("land")["writes"].get(TRANSFER, {}).get("received", 0) == 0
        mocks.set_faults("land")

        async with running_hub(env, log) as restarted:
            hub = restarted.http
            portal = Portal(hub, consumer, settings)

            async def delivered() -> dict[str, Any] | None:
                [found] = await deliveries(hub, admin, filing_id=filing_id)
                assert found["status"] in ("sending", "pending", "delivered"), found
                return found if found["status"] == "delivered" else None

            delivery = await eventually("the delivery delivered", delivered, seconds=60)
            assert delivery["id"] == staged["id"]
            assert delivery["attempts"] >= 2  # claimed before the kill, and again after
            filing = await portal.get(filing_id)
            assert filing["result"]["confirmed_at"] is not None
            new_number = filing["result"]["record"]["certificate_number"]

        counters = mocks.stats("land")["writes"][TRANSFER]
        assert counters["applied"] == 1 and counters["duplicates"] == 0, counters
        assert applied_keys(mocks, "land", TRANSFER) == [staged["id"]]
        # The land system: the seller's certificate cancelled, the new one the buyer's.
        old = land_get(mocks, f"/giay-chung-nhan/{people.certificate}")
        assert old["data"]["trangThai"] == "DA_HUY"
        held = land_get(mocks, f"/chu-su-dung/{people.groom}/giay-chung-nhan")
        assert new_number in [c["soPhatHanh"] for c in held["data"]]
