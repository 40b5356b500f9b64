"""Live data, end to end, against the four mocks as processes: a change made in a source
system reaches a subscriber's webhook receiver (a real HTTP server on loopback) through the
hub's feed reader, change log and webhook sender, signed per Standard Webhooks and thin; the
subscriber pulls the value through the data path. A death registered in civil status while
the population database says alive is news to both owners, opened and closed. Two hub
processes on one PostgreSQL ingest a burst of changes once and deliver each once, in order,
to every subscription."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from standardwebhooks.webhooks import Webhook

from app.changes.models import ChangeEvent, FeedCursor
from app.config import Settings
from app.conflicts.checker import CURSOR as CONFLICT_CURSOR
from app.db import create_engine, create_sessionmaker
from app.security import service as security_service
from app.security.roles import Role
from app.security.schemas import AccessRightIn
from app.subscriptions.models import DELIVERED, SubscriptionEvent
from dictionary import load_dictionary
from tests.filings.test_delivery_processes import connect, eventually, hub_env, running_hub
from tests.filings.test_end_to_end import people_of
from tests.helpers.clients import ApiCredentials, MakeClient
from tests.helpers.live_data import (
    ingest,
    inject,
    population_learns_of_death,
    register_death,
)
from tests.helpers.mock_servers import MockServers
from tests.helpers.sources import LEGAL, all_fields, consumer_for, grant, pull_headers
from tests.subscriptions.receiver import Received, Receiver
from tests.subscriptions.steps import PURPOSE, send_until, subscribe
from tests.subscriptions.steps import sender as sender_of

NEW_NAME = "Nguyễn Thị Mới Đổi"
# New names for a burst: a change the dictionary accepts (a new sex could contradict the
# citizen ID, and such a record's change is not published).
NAMES = ("Trần Văn An", "Lê Thị Bình", "Phạm Văn Cường", "Hoàng Thị Dung", "Vũ Văn Em")
# What a thin event's data holds: where to pull, never a value.
THIN_DATA = {
    "record_type",
    "operation",
    "changed_fields",
    "source_sequence",
    "source_reference",
    "record_version",
    "effective_on",
    "pull",
}


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """The hub of these tests reads the feeds and sends webhooks only when a test drives it
    (``run_once``), and a failed webhook is due again at once."""
    return Settings(
        database_url=database_url,
        data_dir=tmp_path / "data",
        auth_cache_seconds=0.0,
        max_body_bytes=64 * 1024,
        delivery_sender=False,
        change_feeds=False,
        webhook_sender=False,
        webhook_retry_scale=0.0,
        webhook_timeout_seconds=5.0,
    )


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


def verified(secret: str, received: Received) -> dict[str, Any]:
    """The CloudEvent of a webhook, once the Standard Webhooks reference verifier accepts it."""
    event: dict[str, Any] = Webhook(secret).verify(received.body, received.headers)
    return event


async def test_a_name_changed_in_the_population_database_reaches_the_subscriber_who_pulls_it(
    sources: Any,
    app: FastAPI,
    client: httpx.AsyncClient,
    make_api_client: MakeClient,
    receiver: Receiver,
) -> None:
    subject = people_of(sources).requester
    consumer = await consumer_for(app, make_api_client, {"Person": None}, purpose=PURPOSE)
    created = await subscribe(client, consumer, receiver.url, record_types=("Person",))

    await inject(
        sources,
        "population",
        {
            "kind": "person",
            "subject": subject,
            "operation": "update",
            "fields": {"hoVaTen": NEW_NAME},
        },
    )
    # Only the feeds: a new name may disagree with the tax or land records, and that news
    # (the second test's subject) is not this test's.
    await ingest(app, check_conflicts=False)
    await send_until(app, lambda: len(receiver.received) == 1)

    [webhook] = receiver.received
    event = verified(created["secret"], webhook)
    assert webhook.headers["content-type"].startswith("application/cloudevents+json")
    assert (event["type"], event["source"], event["subject"]) == (
        "vn.gov.population.person.updated",
        "urn:vn:declare-once:population",
        subject,
    )
    assert set(event["data"]) == THIN_DATA
    assert event["data"]["changed_fields"] == ["full_name"]
    assert event["data"]["pull"] == f"/v1/records/Person/{subject}"
    assert NEW_NAME not in webhook.body.decode()  # thin: the value stays with its owner

    pulled = await client.get(event["data"]["pull"], headers=pull_headers(consumer, PURPOSE))
    assert pulled.status_code == 200, pulled.text
    assert pulled.json()["record"]["full_name"] == NEW_NAME

    # The population database deletes the person: the subscriber hears of it, after the
    # update, and the pull then finds nobody.
    await inject(
        sources, "population", {"kind": "person", "subject": subject, "operation": "delete"}
    )
    await ingest(app, check_conflicts=False)
    await send_until(app, lambda: len(receiver.received) == 2)

    deleted = verified(created["secret"], receiver.received[1])
    assert deleted["type"] == "vn.gov.population.person.deleted"
    assert deleted["subject"] == subject
    assert int(deleted["id"]) > int(event["id"])
    assert (deleted["data"]["operation"], deleted["data"]["changed_fields"]) == ("deleted", [])
    gone = await client.get(deleted["data"]["pull"], headers=pull_headers(consumer, PURPOSE))
    assert (gone.status_code, gone.json()["code"]) == (404, "subject_not_found")


async def test_a_death_population_does_not_know_of_is_news_to_both_owners_until_they_agree(
    sources: Any,
    app: FastAPI,
    client: httpx.AsyncClient,
    make_api_client: MakeClient,
) -> None:
    subject = people_of(sources).requester
    population = await make_api_client("consumer", agency="Population database agency")
    await grant(
        app,
        population,
        [
            {
                "record_type": "Person",
                "fields": all_fields(app, "Person"),
                "purposes": [PURPOSE],
                "legal_basis": LEGAL,
            }
        ],
    )
    civil_status = await make_api_client("consumer", agency="Civil status agency")
    await grant(
        app,
        civil_status,
        [
            {
                "record_type": "DeathRegistration",
                "fields": all_fields(app, "DeathRegistration"),
                "purposes": [PURPOSE],
                "legal_basis": LEGAL,
            }
        ],
    )
    auditor = await make_api_client("auditor")
    with Receiver() as person_hooks, Receiver() as death_hooks:
        person_sub = await subscribe(client, population, person_hooks.url, ("Person",))
        death_sub = await subscribe(client, civil_status, death_hooks.url, ("DeathRegistration",))

        await register_death(sources, subject)
        await ingest(app)
        listed = await client.get("/v1/conflicts", headers=auditor.headers)
        assert listed.status_code == 200, listed.text
        [conflict] = listed.json()["items"]
        assert (conflict["rule"], conflict["status"], conflict["fields"]) == (
            "person_death",
            "open",
            ["is_deceased"],
        )

        def told(hooks: Receiver, secret: str) -> list[str]:
            return [verified(secret, r)["type"] for r in hooks.received]

        await send_until(
            app,
            lambda: (
                "vn.gov.hub.person.conflict_opened" in told(person_hooks, person_sub["secret"])
                and "vn.gov.hub.deathregistration.conflict_opened"
                in told(death_hooks, death_sub["secret"])
            ),
        )
        opened = next(
            verified(person_sub["secret"], r)
            for r in person_hooks.received
            if r.json()["data"]["operation"] == "conflict_opened"
        )
        assert opened["subject"] == subject
        assert opened["data"]["changed_fields"] == ["is_deceased"]

        # The population database learns of the death: both owners hear the conflict closed.
        await population_learns_of_death(sources, subject)
        await ingest(app)
        closed = (await client.get("/v1/conflicts", headers=auditor.headers)).json()["items"]
        assert [(c["id"], c["status"]) for c in closed] == [(conflict["id"], "closed")]
        await send_until(
            app,
            lambda: (
                "vn.gov.hub.person.conflict_closed" in told(person_hooks, person_sub["secret"])
                and "vn.gov.hub.deathregistration.conflict_closed"
                in told(death_hooks, death_sub["secret"])
            ),
        )

        # Each owner, in order: its own record's change and the hub's two pieces of news.
        assert told(person_hooks, person_sub["secret"]) == [
            "vn.gov.hub.person.conflict_opened",
            "vn.gov.population.person.updated",
            "vn.gov.hub.person.conflict_closed",
        ]
        assert told(death_hooks, death_sub["secret"]) == [
            "vn.gov.civil_status.deathregistration.created",
            "vn.gov.hub.deathregistration.conflict_opened",
            "vn.gov.hub.deathregistration.conflict_closed",
        ]


# -- two hub processes, one PostgreSQL


async def make_subscribers(database_url: str) -> dict[str, ApiCredentials]:
    """An integrator, and a consumer that may read every Person field for ``PURPOSE``, made
    straight in the database before any hub process starts."""
    dictionary = load_dictionary()
    engine = create_engine(database_url)
    made: dict[str, ApiCredentials] = {}
    try:
        async with create_sessionmaker(engine).begin() as session:
            for role in ("integrator", "consumer"):
                created, _key, api_key = await security_service.create_client(
                    session, name=f"live-{role}", agency="Population agency", roles=[Role(role)]
                )
                made[role] = ApiCredentials(created.id, api_key, (role,))
            fields = [f.name for f in dictionary.record_type("Person").latest().fields]
            await security_service.replace_access_rights(
                session,
                dictionary,
                made["consumer"].client_id,
                [
                    AccessRightIn(
                        record_type="Person", fields=fields, purposes=[PURPOSE], legal_basis=LEGAL
                    )
                ],
            )
    finally:
        await engine.dispose()
    return made


class ChangeLog:
    """What the shared database holds: the change log, the conflict check's cursor and the
    webhook queue."""

    def __init__(self, database_url: str) -> None:
        self._engine = create_engine(database_url)
        self._sessions = create_sessionmaker(self._engine)

    async def close(self) -> None:
        await self._engine.dispose()

    async def population_sequences(self) -> list[int]:
        async with self._sessions() as session:
            return list(
                await session.scalars(
                    select(ChangeEvent.source_seq)
                    .where(ChangeEvent.system == "population")
                    .order_by(ChangeEvent.seq)
                )
            )

    async def checked_up_to_the_end(self) -> bool:
        """Whether the conflict check has gone past every change the sources brought (so the
        hub's own news, if any, is in the log)."""
        async with self._sessions() as session:
            last = await session.scalar(
                select(func.max(ChangeEvent.seq)).where(ChangeEvent.system != "hub")
            )
            cursor = await session.scalar(
                select(FeedCursor.source_seq).where(FeedCursor.connector_id == CONFLICT_CURSOR)
            )
        return last is not None and cursor is not None and cursor >= last

    async def person_changes(self) -> list[int]:
        async with self._sessions() as session:
            return list(
                await session.scalars(
                    select(ChangeEvent.seq)
                    .where(ChangeEvent.record_type == "Person")
                    .order_by(ChangeEvent.seq)
                )
            )

    async def queue(self, subscription_id: str) -> list[tuple[int, str]]:
        async with self._sessions() as session:
            rows = await session.execute(
                select(SubscriptionEvent.change_seq, SubscriptionEvent.status)
                .where(SubscriptionEvent.subscription_id == subscription_id)
                .order_by(SubscriptionEvent.change_seq)
            )
            return [(int(seq), str(status)) for seq, status in rows.all()]


def sent_in_order(receiver: Receiver) -> list[int]:
    return [int(r.json()["id"]) for r in receiver.received]


@pytest.mark.slow
async def test_two_hub_instances_ingest_a_burst_once_and_deliver_it_once_in_order(
    database_url: str, mock_servers: MockServers, tmp_path: Path
) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("several hub instances share PostgreSQL, not an SQLite file")
    clients = await make_subscribers(database_url)
    consumer, integrator = clients["consumer"], clients["integrator"]
    env = hub_env(
        database_url,
        tmp_path / "data",
        delivery_sender="false",
        change_feeds="true",
        change_feed_poll_seconds="0.2",
        webhook_sender="true",
        webhook_poll_seconds="0.1",
        webhook_allowed_hosts='["127.0.0.1"]',
    )
    burst = 50
    subjects = mock_servers.dataset.demo_citizens(burst)
    log = ChangeLog(database_url)
    try:
        with Receiver() as first, Receiver() as second:
            async with (
                running_hub(env, tmp_path / "hub-a.log") as hub_a,
                running_hub(env, tmp_path / "hub-b.log") as hub_b,
            ):
                await connect(hub_a.http, integrator, mock_servers)
                subscriptions = [
                    await subscribe(hub_a.http, consumer, first.url, ("Person",)),
                    await subscribe(hub_b.http, consumer, second.url, ("Person",)),
                ]
                injected = await hub_a.http.post(
                    f"{mock_servers.url('population')}/__changes",
                    json=[
                        {
                            "kind": "person",
                            "subject": subject,
                            "operation": "update",
                            "fields": {"hoVaTen": NAMES[n % len(NAMES)]},
                        }
                        for n, subject in enumerate(subjects)
                    ],
                )
                assert injected.status_code == 200, injected.text
                assert injected.json()["sequences"] == [1, burst]

                async def all_ingested() -> list[int] | None:
                    found = await log.population_sequences()
                    return found if len(found) >= burst else None

                ingested = await eventually("the burst ingested", all_ingested, 60)
                assert ingested == list(range(1, burst + 1))  # each once, in the source's order
                await eventually("the burst checked", log.checked_up_to_the_end, 60)
                expected = await log.person_changes()

                async def all_delivered() -> bool:
                    for sub in subscriptions:
                        queue = await log.queue(sub["id"])
                        if [seq for seq, _status in queue] != expected:
                            return False
                        if any(status != DELIVERED for _seq, status in queue):
                            return False
                    return True

                await eventually("every webhook delivered", all_delivered, 60)
                assert await log.population_sequences() == ingested  # nothing read twice

            for sub, hooks in zip(subscriptions, (first, second), strict=True):
                ids = [r.headers["webhook-id"] for r in hooks.received]
                assert len(ids) == len(set(ids)), "a webhook was sent twice"
                assert sent_in_order(hooks) == expected
                for received in hooks.received:
                    assert verified(sub["secret"], received)["subject"] in subjects
    finally:
        await log.close()


async def test_changes_from_the_population_mock_are_retried_replayed_and_stopped_by_410(
    sources: Any,
    app: FastAPI,
    client: httpx.AsyncClient,
    make_api_client: MakeClient,
    receiver: Receiver,
) -> None:
    people = people_of(sources)
    consumer = await consumer_for(app, make_api_client, {"Person": None}, purpose=PURPOSE)
    # Without an access right to the record type, no subscription.
    stranger = await consumer_for(app, make_api_client, {"Taxpayer": None}, purpose=PURPOSE)
    refused = await client.post(
        "/v1/subscriptions",
        headers=stranger.headers,
        json={"record_types": ["Person"], "purpose": PURPOSE, "url": receiver.url},
    )
    assert (refused.status_code, refused.json()["code"]) == (403, "subscription_not_granted")
    created = await subscribe(client, consumer, receiver.url, record_types=("Person",))
    pulled = await subscribe(client, consumer, None, record_types=("Person",))

    subjects = [people.requester, people.groom, people.bride]
    await inject(
        sources,
        "population",
        *(
            {"kind": "person", "subject": s, "operation": "update", "fields": {"hoVaTen": n}}
            for s, n in zip(subjects, NAMES, strict=False)
        ),
    )
    await ingest(app, check_conflicts=False)
    # The receiver fails twice: the first change is sent again, then all three, in order.
    receiver.answer(500, 503)
    await send_until(app, lambda: len(receiver.received) >= 5)
    ids = [r.headers["webhook-id"] for r in receiver.received]
    assert len(ids) == 5 and ids[0] == ids[1] == ids[2]  # the same message, retried
    events = [verified(created["secret"], r) for r in receiver.received[2:]]
    assert [e["subject"] for e in events] == subjects
    assert [int(e["id"]) for e in events] == sorted(int(e["id"]) for e in events)

    # The pull feed replays the same events, in the same order, from any sequence.
    feed = f"/v1/subscriptions/{pulled['id']}/events"
    whole = (await client.get(feed, headers=consumer.headers)).json()["items"]
    assert [e["id"] for e in whole] == [e["id"] for e in events]
    later = await client.get(feed, headers=consumer.headers, params={"after": events[0]["id"]})
    assert later.json()["items"] == whole[1:]

    # 410: the receiver is gone; the subscription is disabled and nothing more is sent.
    receiver.answer_always(410)
    await inject(
        sources,
        "population",
        {"kind": "person", "subject": people.man, "operation": "update",
         "fields": {"hoVaTen": NAMES[3]}},
    )  # fmt: skip
    await ingest(app, check_conflicts=False)
    await send_until(app, lambda: len(receiver.received) == 6)
    shown = await client.get(f"/v1/subscriptions/{created['id']}", headers=consumer.headers)
    assert shown.json()["status"] == "disabled"
    await inject(
        sources,
        "population",
        {"kind": "person", "subject": people.woman, "operation": "update",
         "fields": {"hoVaTen": NAMES[4]}},
    )  # fmt: skip
    await ingest(app, check_conflicts=False)
    await sender_of(app).run_once()
    assert len(receiver.received) == 6
