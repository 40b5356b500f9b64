"""How much of a dossier the state fills: one filing per shipped procedure, with the demo data.

The share, precisely: for one filing per shipped procedure, opened by a demo citizen who has
the data the procedure needs (the same synthetic population ``make run`` serves: the four mock
systems with their default settings, demo citizens from ``Dataset.demo_citizens``), and filled
in as a portal would (the applicant types only what the plan still asks for, including the
optional fields a real applicant gives: the cause of death, the reason for the move; a refund
account only when a refund is claimed, which these scenarios do not):

    share = (pre-filled + derived) / fields

* **fields**: every field of the dossier that holds a value when the filing is ready to
  submit, over all its components (an optional component counts when it was pulled);
* **pre-filled**: values a state component pulled from a national system;
* **derived**: values the hub filled by a ``derived_from`` of the procedure (from another
  component's value, a state record's value, or the applicant's own ID), never asked for;
* **typed**: values the applicant typed.

The total is the sum over the procedures of each column, not a mean of the shares. Run it
with ``.venv/bin/python bench/prefill_share.py``; the four mocks run as their own processes
and the hub in this process on SQLite, reached over ASGI. It is a product property, not a
timing: tests/filings/test_prefill_share.py asserts the same table.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app import migrate  # noqa: E402
from app.config import Settings  # noqa: E402
from app.main import create_app  # noqa: E402
from app.security import service as security_service  # noqa: E402
from app.security.roles import Role  # noqa: E402
from connectors.mocks.dataset import Dataset  # noqa: E402
from tests.helpers.clients import ApiCredentials  # noqa: E402
from tests.helpers.filings import SYSTEM_RECORD_TYPES, Portal, plan_of  # noqa: E402
from tests.helpers.mock_servers import MockServers  # noqa: E402

TARGET = 0.85


@dataclass(frozen=True)
class Scenario:
    """One filing: who opens it, what they type before the prefill (the values that name
    whom or which record the pulls are about, and what they know from the start), and what
    they may type after it (each only if the plan still asks for it)."""

    procedure: str
    applicant: str
    before: dict[str, dict[str, Any]]
    after: dict[str, dict[str, Any]] = field(default_factory=dict)
    on_behalf_of: str | None = None


@dataclass(frozen=True)
class Share:
    procedure: str
    prefilled: int
    derived: int
    typed: int

    @property
    def fields(self) -> int:
        return self.prefilled + self.derived + self.typed

    @property
    def share(self) -> float:
        return (self.prefilled + self.derived) / self.fields if self.fields else 0.0


def scenarios(dataset: Dataset) -> list[Scenario]:
    """The demo citizens' filings: the first four demo citizens and their spouses."""
    demo = dataset.demo_citizens(4)

    def spouse(citizen_id: str) -> str:
        person = dataset.person_by_id(citizen_id)
        assert person is not None and person.spouse is not None
        return str(dataset.citizen_id(person.spouse))

    man, widower, groom, requester = demo
    woman, late_wife, bride = spouse(man), spouse(widower), spouse(groom)
    return [
        Scenario(
            "birth-registration",
            woman,
            # The mother declares and names the child; the register holds her medical birth
            # certificate, which gives the child's date and province of birth and sex.
            before={
                "birth_declaration": {
                    "declarant_relationship": "Mẹ",
                    "child_full_name": "Huỳnh Minh An",
                },
            },
        ),
        Scenario(
            "death-registration",
            widower,
            before={
                "death_declaration": {
                    "deceased_citizen_id": late_wife,
                    "date_of_death": "2026-11-20",
                    "place_of_death_province": "01",
                },
                "death_notice": {
                    "certificate_number": "BT-2026-0042",
                    "issued_date": "2026-11-21",
                    "cause_of_death": "Bệnh tim",
                },
            },
            after={"death_declaration": {"declarant_relationship": "Chồng"}},
        ),
        Scenario(
            "land-use-right-transfer",
            widower,
            before={
                "transfer_declaration": {
                    "transferee_citizen_id": groom,
                    "contract_number": "HD-2026-15",
                    "transfer_price": 1.5e9,
                }
            },
        ),
        Scenario(
            "marital-status-certificate",
            requester,
            before={"certificate_request": {"purpose": "Giao dịch bất động sản"}},
        ),
        Scenario(
            "marriage-registration",
            groom,
            before={"marriage_declaration": {"wife_citizen_id": bride}},
        ),
        Scenario(
            "permanent-residence-registration",
            woman,
            before={
                "residence_declaration": {
                    "household_head_citizen_id": man,
                    "reason": "Về ở cùng chồng",
                }
            },
            after={"residence_declaration": {"relationship_to_head": "SPOUSE"}},
        ),
        Scenario(
            "personal-income-tax-finalisation",
            man,
            before={
                "finalisation_return": {
                    "tax_year": 2025,
                    "taxable_income": 240_000_000,
                    "dependants": 1,
                }
            },
        ),
    ]


def _values(dossier: dict[str, dict[str, Any]]) -> Iterable[str]:
    for component_id, values in dossier.items():
        for name, value in values.items():
            if value is not None:
                yield f"/{component_id}/{name}"


def count(filing: dict[str, Any]) -> Share:
    """The filing's fields by where their value came from."""
    provenance = filing["provenance"]
    typed = set(filing["typed_fields"])
    prefilled = derived = typed_count = 0
    for path in _values(filing["dossier"]):
        origin = provenance.get(path)
        if origin is not None and origin.get("derived_from"):
            derived += 1
        elif origin is not None:
            prefilled += 1
        elif path in typed:
            typed_count += 1
        else:
            raise AssertionError(f"{path} has a value with neither provenance nor typing")
    return Share(filing["procedure"], prefilled, derived, typed_count)


def _asked(filing: dict[str, Any], scenario: Scenario) -> dict[str, dict[str, Any]]:
    """The scenario's later values the plan still asks for."""
    plan = plan_of(filing)
    asked: dict[str, dict[str, Any]] = {}
    for component_id, values in scenario.after.items():
        to_type = {f["name"] for f in plan[component_id]["fields"]}
        held = filing["dossier"].get(component_id, {})
        for name, value in values.items():
            if name in to_type and held.get(name) is None:
                asked.setdefault(component_id, {})[name] = value
    return asked


async def run_one(portal: Portal, scenario: Scenario) -> dict[str, Any]:
    """Open, type, consent, prefill and complete one filing; returns it ready to submit."""
    opened = await portal.open(scenario.procedure, scenario.applicant, scenario.on_behalf_of)
    filing_id = opened["id"]
    seen = await portal.fill(filing_id, scenario.before) if scenario.before else opened
    for entry in seen["plan"]:
        if entry["action"] == "pull_with_consent":
            subject = entry["subject"]["citizen_id"]
            assert subject is not None, entry
            await portal.consent(subject, scenario.procedure, entry["record_type"], entry["fields"])
    filing = await portal.prefill(filing_id)
    asked = _asked(filing, scenario)
    if asked:
        filing = await portal.fill(filing_id, asked)
    missing = [
        f"{entry['component']}.{f['name']}"
        for entry in filing["plan"]
        if entry["kind"] == "applicant" and entry["required"]
        for f in entry["fields"]
        if f["required"] and filing["dossier"].get(entry["component"], {}).get(f["name"]) is None
    ]
    assert not missing, f"{scenario.procedure}: the scenario never types {missing}"
    return filing


async def measure(portal: Portal, dataset: Dataset) -> list[Share]:
    """One filing per scenario, counted."""
    return [count(await run_one(portal, s)) for s in scenarios(dataset)]


def total(rows: Iterable[Share]) -> Share:
    rows = list(rows)
    return Share(
        "total",
        sum(r.prefilled for r in rows),
        sum(r.derived for r in rows),
        sum(r.typed for r in rows),
    )


def table(rows: list[Share]) -> str:
    lines = [
        f"{'procedure':<34} {'fields':>6} {'pre-filled':>10} {'derived':>7} {'typed':>5} "
        f"{'share':>6}"
    ]
    for row in [*rows, total(rows)]:
        lines.append(
            f"{row.procedure:<34} {row.fields:>6} {row.prefilled:>10} {row.derived:>7} "
            f"{row.typed:>5} {row.share:>6.1%}"
        )
    return "\n".join(lines)


async def run(mocks: MockServers, data_dir: Path) -> list[Share]:
    url = f"sqlite+aiosqlite:///{data_dir / 'hub.db'}"
    await asyncio.to_thread(migrate.upgrade, url)
    settings = Settings(database_url=url, data_dir=data_dir / "data")
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        hub = app.state.hub
        made: dict[Role, ApiCredentials] = {}
        async with hub.sessionmaker.begin() as session:
            for role in (Role.integrator, Role.consumer):
                created, _key, plaintext = await security_service.create_client(
                    session, name=f"bench-{role.value}", agency="Bench agency", roles=[role]
                )
                made[role] = ApiCredentials(created.id, plaintext, (role.value,))
            # The demo consumer stands for every agency: it handles every shipped procedure.
            await security_service.replace_procedure_grants(
                session,
                hub.dictionary,
                made[Role.consumer].client_id,
                sorted(hub.dictionary.procedures),
            )
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub") as http:
            for system, record_types in SYSTEM_RECORD_TYPES.items():
                answer = await http.post(
                    "/v1/connectors",
                    headers=made[Role.integrator].headers,
                    json={
                        "system": system,
                        "base_url": mocks.url(system),
                        "auth": mocks.auth(system),
                        "record_types": record_types,
                    },
                )
                answer.raise_for_status()
            portal = Portal(http, made[Role.consumer], settings, officer="bench")
            return await measure(portal, mocks.dataset)


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp, MockServers() as mocks:
        rows = asyncio.run(run(mocks, Path(tmp)))
    print("One filing per shipped procedure with the demo data (share = (pre-filled + derived)")
    print("/ fields; see the docstring for what each column counts):")
    print(table(rows))
    share = total(rows).share
    verdict = "meets" if share >= TARGET else "misses"
    print(f"total share {share:.1%} ({verdict} the target >= {TARGET:.0%})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
