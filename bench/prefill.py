"""Prefill of a filing whose 4 components sit on 4 sources, each with 50 ms injected latency.

The four mock source systems run as their own processes (tests/mock_servers.py starts them
on loopback); the hub runs in this process on SQLite, reached over ASGI. The filing is a
land-use-right transfer: the transferor's citizen record (population), marital-status
certificate (civil status), land-use-right certificate (land) and tax registration (tax).

Printed: the median time of one pull from each source alone, through the same data path
(``pull_record``), and the median time of the whole prefill; their ratio is the figure of
merit (target <= 1.3: the pulls run concurrently; a serial prefill would be about 4).
Never fails on timing.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app import migrate  # noqa: E402
from app.config import Settings  # noqa: E402
from app.consent.approval import APPROVAL_CLAIM, consent_hash  # noqa: E402
from app.consent.schemas import ConsentCreate  # noqa: E402
from app.exchange.service import ProcedureGrant, PullContext, pull_record  # noqa: E402
from app.main import create_app  # noqa: E402
from app.security import service as security_service  # noqa: E402
from app.security.actor import Actor  # noqa: E402
from app.security.citizen import issue_citizen_token  # noqa: E402
from app.security.roles import ClientPrincipal, Role  # noqa: E402
from tests.helpers.mock_servers import MockServers  # noqa: E402

PROCEDURE = "land-use-right-transfer"
COMPONENTS = (
    "transferor_identity",
    "transferor_marital_status",
    "land_certificate",
    "transferor_taxpayer",
)
LATENCY_MS = 50
ROUNDS = 15
RECORD_TYPES = {
    "population": ["Person"],
    "civil-status": ["MaritalStatusCertificate"],
    "land": ["LandUseRightCertificate"],
    "tax": ["Taxpayer"],
}


async def _client(app: Any, role: Role, name: str) -> tuple[ClientPrincipal, str]:
    async with app.state.hub.sessionmaker.begin() as session:
        created, key, plaintext = await security_service.create_client(
            session, name=name, agency="Bench agency", roles=[role]
        )
    principal = ClientPrincipal(
        created.id, created.name, created.agency, frozenset({role.value}), key.id
    )
    return principal, plaintext


async def _consent(
    http: httpx.AsyncClient, headers: dict[str, str], subject: str, app: Any, client_id: str
) -> None:
    """Record the subject's consent with their signed approval (mock eID issuer): ACTIVE."""
    now = datetime.now(UTC)
    body: dict[str, Any] = {
        "subject": subject,
        "purpose": PROCEDURE,
        "scope": [
            {
                "record_type": "Taxpayer",
                "fields": ["tax_code", "taxpayer_status", "tax_office_code"],
            }
        ],
        "validity": {
            "start": (now - timedelta(minutes=1)).isoformat(),
            "expiry": (now + timedelta(days=1)).isoformat(),
        },
        "fetch_type": "ONE_TIME",
        "capture": {"channel": "counter", "captured_at": now.isoformat()},
    }
    digest = consent_hash(client_id, ConsentCreate.model_validate(body))
    body["citizen_approval"] = issue_citizen_token(
        app.state.settings, subject, ttl_seconds=600, extra_claims={APPROVAL_CLAIM: digest}
    )
    answer = await http.post("/v1/consents", headers=headers, json=body)
    answer.raise_for_status()


async def run(mocks: MockServers, data_dir: Path) -> None:
    url = f"sqlite+aiosqlite:///{data_dir / 'hub.db'}"
    await asyncio.to_thread(migrate.upgrade, url)
    app = create_app(Settings(database_url=url, data_dir=data_dir / "data"))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub") as http:
            _, integrator_key = await _client(app, Role.integrator, "bench-integrator")
            consumer, consumer_key = await _client(app, Role.consumer, "bench-consumer")
            async with app.state.hub.sessionmaker.begin() as session:
                await security_service.replace_procedure_grants(
                    session, app.state.hub.dictionary, consumer.client_id, [PROCEDURE]
                )
            for system, record_types in RECORD_TYPES.items():
                answer = await http.post(
                    "/v1/connectors",
                    headers={"Authorization": f"Bearer {integrator_key}"},
                    json={
                        "system": system,
                        "base_url": mocks.url(system),
                        "auth": mocks.auth(system),
                        "record_types": record_types,
                    },
                )
                answer.raise_for_status()
            for system in RECORD_TYPES:
                mocks.set_faults(system, latency_ms=LATENCY_MS)
            headers = {"Authorization": f"Bearer {consumer_key}", "X-User-Id": "bench"}
            citizens = mocks.dataset.demo_citizens(ROUNDS + 1)
            procedure = app.state.hub.dictionary.procedure(PROCEDURE)

            # One source at a time, through the same data path a prefill uses.
            alone: dict[str, list[float]] = {}
            for component_id in COMPONENTS:
                component = procedure.component(component_id)
                ctx = PullContext(Actor(consumer, "bench", None, None), PROCEDURE, None, PROCEDURE)
                grant = ProcedureGrant(PROCEDURE, list(component.fields), "bench")
                times = []
                for subject in citizens:
                    started = time.perf_counter()
                    await pull_record(
                        app.state.hub,
                        ctx,
                        component.record_type,
                        subject,
                        list(component.fields),
                        grant=grant,
                    )
                    times.append(time.perf_counter() - started)
                alone[component.owner_system] = times[1:]  # the first warms the pool

            # The whole prefill: the four pulls together.
            prefill_times = []
            satisfied = []
            for subject in citizens:
                await _consent(http, headers, subject, app, consumer.client_id)
                opened = await http.post(
                    "/v1/filings",
                    headers=headers,
                    json={"procedure": PROCEDURE, "applicant_id": subject},
                )
                opened.raise_for_status()
                started = time.perf_counter()
                answer = await http.post(
                    f"/v1/filings/{opened.json()['id']}/prefill", headers=headers
                )
                prefill_times.append(time.perf_counter() - started)
                answer.raise_for_status()
                satisfied.append(answer.json()["declare_once"]["components_from_state"])
            prefill_times = prefill_times[1:]

    medians = {system: statistics.median(times) for system, times in alone.items()}
    slowest_system = max(medians, key=lambda s: medians[s])
    slowest = medians[slowest_system]
    prefill = statistics.median(prefill_times)
    ms = 1000.0
    print(f"latency injected on each source: {LATENCY_MS} ms; rounds: {len(prefill_times)}")
    for system, median in medians.items():
        print(f"  one pull from {system:<12} median {median * ms:7.1f} ms")
    print(f"  slowest single source ({slowest_system}): {slowest * ms:.1f} ms")
    print(f"  serial estimate (sum of the four): {sum(medians.values()) * ms:.1f} ms")
    p95 = statistics.quantiles(prefill_times, n=20)[-1] if len(prefill_times) > 1 else prefill
    print(
        f"prefill of 4 components on 4 sources: median {prefill * ms:.1f} ms, p95 {p95 * ms:.1f} ms"
    )
    print(f"components satisfied from state data per filing: {sorted(set(satisfied))}")
    ratio = prefill / slowest
    verdict = "meets" if ratio <= 1.3 else "misses"
    print(f"ratio prefill / slowest single source: {ratio:.2f} ({verdict} the target <= 1.3)")


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp, MockServers() as mocks:
        asyncio.run(run(mocks, Path(tmp)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
