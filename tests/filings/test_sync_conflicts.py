"""Sync conflicts, live, against the four mocks as processes: a death in civil status while
the population database says alive opens a conflict, published as news about both record
types, and the population database's update closes it."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from app.changes.models import ChangeEvent
from tests.filings.test_end_to_end import people_of
from tests.helpers.clients import MakeClient
from tests.helpers.live_data import (
    ingest,
    inject,
    population_learns_of_death,
    register_death,
)


async def hub_news(app: FastAPI) -> list[tuple[str, str, list[str]]]:
    async with app.state.hub.sessionmaker() as session:
        rows = await session.scalars(
            select(ChangeEvent).where(ChangeEvent.system == "hub").order_by(ChangeEvent.seq)
        )
        return [(r.record_type, r.operation, list(r.changed_fields)) for r in rows]


async def test_a_death_registered_while_population_says_alive_is_a_conflict_until_it_agrees(
    sources: Any, app: FastAPI, client: httpx.AsyncClient, make_api_client: MakeClient
) -> None:
    people = people_of(sources)
    subject = people.requester
    await register_death(sources, subject)
    await ingest(app)
    auditor = await make_api_client("auditor")
    listed = await client.get("/v1/conflicts", headers=auditor.headers)
    assert listed.status_code == 200, listed.text
    [conflict] = listed.json()["items"]
    assert (conflict["rule"], conflict["status"], conflict["fields"]) == (
        "person_death",
        "open",
        ["is_deceased"],
    )
    assert conflict["other"] == {
        "record_type": "DeathRegistration",
        "system": "civil_status",
        "source_reference": conflict["other"]["source_reference"],
    }
    assert subject not in listed.text  # masked: the values and the ID stay with the systems
    assert await hub_news(app) == [
        ("Person", "conflict_opened", ["is_deceased"]),
        ("DeathRegistration", "conflict_opened", ["date_of_death"]),
    ]

    # The population database learns of the death: the systems agree again.
    await population_learns_of_death(sources, subject)
    await ingest(app)
    closed = (await client.get("/v1/conflicts", headers=auditor.headers)).json()["items"]
    assert [(c["id"], c["status"]) for c in closed] == [(conflict["id"], "closed")]
    assert closed[0]["closed_at"] is not None
    assert (await hub_news(app))[2:] == [
        ("Person", "conflict_closed", ["is_deceased"]),
        ("DeathRegistration", "conflict_closed", ["date_of_death"]),
    ]
    # Nothing new once they agree.
    await ingest(app)
    assert len(await hub_news(app)) == 4


async def test_a_conflict_stays_open_while_the_other_side_cannot_be_read(
    sources: Any, app: FastAPI, client: httpx.AsyncClient, make_api_client: MakeClient
) -> None:
    subject = people_of(sources).requester
    await register_death(sources, subject)
    await ingest(app)
    integrator = await make_api_client("integrator")
    connectors = (await client.get("/v1/connectors", headers=integrator.headers)).json()
    [civil] = [c for c in connectors if c["system"] == "civil_status"]
    disabled = await client.patch(
        f"/v1/connectors/{civil['id']}", headers=integrator.headers, json={"enabled": False}
    )
    assert disabled.status_code == 200, disabled.text
    await app.state.hub.connectors.refresh()
    await inject(
        sources, "population", {"kind": "person", "subject": subject, "operation": "update",
                                "fields": {"hoVaTen": "Nguyễn Văn Còn"}},
    )  # fmt: skip
    await ingest(app)
    auditor = await make_api_client("auditor")
    listed = (await client.get("/v1/conflicts", headers=auditor.headers)).json()["items"]
    assert [(c["rule"], c["status"]) for c in listed if c["rule"] == "person_death"] == [
        ("person_death", "open")
    ]
