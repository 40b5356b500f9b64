"""The source systems' change feeds, read into the hub's change log, against the four mocks
as processes: each change once, in order, validated, with no values; the cursor survives a
restart; a land transfer the hub delivered comes back as the land system's own changes."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import FastAPI
from sqlalchemy import select

from app.changes.ingest import FeedReader
from app.changes.models import ChangeEvent, FeedCursor
from tests.filings.test_deliveries import deliver
from tests.filings.test_end_to_end import people_of, run_scenario, scenarios
from tests.helpers.filings import Portal
from tests.helpers.live_data import inject


async def changes(app: FastAPI) -> list[ChangeEvent]:
    async with app.state.hub.sessionmaker() as session:
        return list(await session.scalars(select(ChangeEvent).order_by(ChangeEvent.seq)))


async def test_an_injected_change_is_logged_once_with_the_dictionarys_names(
    sources: Any, app: FastAPI
) -> None:
    people = people_of(sources)
    await inject(
        sources,
        "population",
        {
            "kind": "person",
            "subject": people.requester,
            "operation": "update",
            "fields": {"hoVaTen": "Nguyễn Văn Bình"},
        },
    )
    feeds = app.state.hub.feeds
    assert await feeds.run_once() == 1
    assert await feeds.run_once() == 0  # read up to the cursor: nothing twice
    [logged] = await changes(app)
    assert (logged.system, logged.record_type, logged.operation) == (
        "population",
        "Person",
        "updated",
    )
    assert logged.subject_id == people.requester
    assert logged.changed_fields == ["full_name"]
    assert logged.source_seq == 1 and logged.record_version == 2
    assert logged.province_code is not None  # from the validated record
    assert logged.dictionary_version == app.state.hub.dictionary.validator("Person").version

    # A restart (a new reader, the same database) goes on from the stored cursor.
    await inject(
        sources,
        "population",
        {"kind": "person", "subject": people.requester, "operation": "delete"},
    )
    again = FeedReader(app.state.hub)
    assert await again.run_once() == 1
    deleted = (await changes(app))[-1]
    assert (deleted.operation, deleted.changed_fields, deleted.source_seq) == ("deleted", [], 2)
    async with app.state.hub.sessionmaker() as session:
        cursors = {c.system: c.source_seq for c in await session.scalars(select(FeedCursor))}
    assert cursors["population"] == 2


async def test_a_delivered_land_transfer_comes_back_as_the_land_systems_changes(
    portal: Portal, sources: Any, app: FastAPI
) -> None:
    people = people_of(sources)
    await run_scenario(portal, scenarios(people)["land-use-right-transfer"])
    assert await deliver(app) == 1
    await app.state.hub.feeds.run_once()
    logged = [(c.record_type, c.operation, c.subject_id) for c in await changes(app)]
    assert ("LandParcel", "updated", people.groom) in logged
    assert ("LandUseRightCertificate", "deleted", people.land_owner) in logged
    assert ("LandUseRightCertificate", "created", people.groom) in logged


async def test_two_readers_at_once_log_each_change_once(sources: Any, app: FastAPI) -> None:
    people = people_of(sources)
    subjects = [people.man, people.woman, people.groom, people.bride, people.requester]
    await inject(
        sources,
        "population",
        *(
            {"kind": "person", "subject": s, "operation": "update", "fields": {"gioiTinh": "1"}}
            for s in subjects
        ),
    )
    first, second = FeedReader(app.state.hub), FeedReader(app.state.hub)
    for _ in range(5):  # bounded: one page holds them all
        await asyncio.gather(first.run_once(), second.run_once())
    logged = await changes(app)
    assert [c.source_seq for c in logged] == sorted({c.source_seq for c in logged})
    assert len(logged) == len({(c.system, c.source_seq) for c in logged})
