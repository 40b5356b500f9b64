"""The sender as it runs in an instance: in the background, with receivers that hang, beside
another instance, and after an instance died holding a claim."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from app.changes.models import ChangeEvent
from app.subscriptions.models import SENDING, SubscriptionEvent
from app.subscriptions.sender import WebhookSender
from app.timestamps import utcnow
from tests.helpers.clients import ApiCredentials, MakeClient
from tests.helpers.sources import consumer_for
from tests.subscriptions.receiver import Receiver
from tests.subscriptions.steps import PURPOSE, change, deliveries, sender, subscribe


@pytest.fixture
async def consumer(app: FastAPI, make_api_client: MakeClient) -> ApiCredentials:
    return await consumer_for(app, make_api_client, {"Person": None}, purpose=PURPOSE)


async def _eventually(condition: Callable[[], bool], rounds: int = 500) -> None:
    """Wait for the background sender; bounded (rounds x 20 ms), never a timing assertion."""
    for _ in range(rounds):
        if condition():
            return
        await asyncio.sleep(0.02)
    assert condition(), "the background sender did not get there"


def _in_order(receiver: Receiver) -> list[str]:
    """The change ids a receiver got, a retried one counted once."""
    ids: list[str] = []
    for received in receiver.received:
        if not ids or ids[-1] != received.json()["id"]:
            ids.append(received.json()["id"])
    return ids


async def test_a_hanging_receiver_holds_back_only_its_own_subscription(
    app: FastAPI, client: httpx.AsyncClient, consumer: ApiCredentials
) -> None:
    with Receiver() as hanging, Receiver() as healthy:
        await subscribe(client, consumer, hanging.url)
        await subscribe(client, consumer, healthy.url)
        hanging.hold()
        await sender(app).start()
        try:
            first = await change(app)
            await _eventually(lambda: len(hanging.received) >= 1 and len(healthy.received) == 1)
            second = await change(app)
            third = await change(app)
            # The healthy receiver gets every later change while the other still hangs (a
            # hang past the timeout is retried: still its first change).
            await _eventually(lambda: len(healthy.received) == 3)
            assert {r.json()["id"] for r in hanging.received} == {str(first.seq)}
            expected = [str(first.seq), str(second.seq), str(third.seq)]
            assert [r.json()["id"] for r in healthy.received] == expected
            hanging.release()
            await _eventually(lambda: _in_order(hanging) == expected)
        finally:
            await sender(app).stop()


async def test_two_instances_send_each_change_once(
    app: FastAPI, client: httpx.AsyncClient, consumer: ApiCredentials
) -> None:
    with Receiver() as receiver:
        for _ in range(6):
            await subscribe(client, consumer, receiver.url)
        await change(app)
        other = WebhookSender(app.state.hub)
        try:
            for _ in range(5):
                await asyncio.gather(sender(app).run_once(), other.run_once())
        finally:
            await other.stop()
        webhook_ids = [r.headers["webhook-id"] for r in receiver.received]
        assert len(webhook_ids) == 6 and len(set(webhook_ids)) == 6


async def test_a_claim_whose_instance_died_is_sent_after_its_lease(
    app: FastAPI, client: httpx.AsyncClient, consumer: ApiCredentials
) -> None:
    with Receiver() as receiver:
        created = await subscribe(client, consumer, receiver.url)
        await change(app)
        async with app.state.hub.sessionmaker.begin() as session:
            await session.execute(
                update(SubscriptionEvent).values(
                    status=SENDING,
                    attempts=1,
                    lease_owner="dead-instance:1",
                    lease_until=utcnow() + timedelta(hours=1),
                )
            )
        assert await sender(app).run_once() == 0  # still leased
        async with app.state.hub.sessionmaker.begin() as session:
            await session.execute(
                update(SubscriptionEvent).values(lease_until=utcnow() - timedelta(seconds=1))
            )
        assert await sender(app).run_once() == 1
        [attempt] = await deliveries(client, consumer, created["id"])
        assert (attempt["status"], attempt["attempts"]) == ("delivered", 2)
        assert len(receiver.received) == 1


async def test_an_admin_sees_any_subscriptions_attempts_and_replays_it(
    app: FastAPI, client: httpx.AsyncClient, consumer: ApiCredentials, admin: ApiCredentials
) -> None:
    with Receiver() as receiver:
        created = await subscribe(client, consumer, receiver.url)
        receiver.answer(410)
        first = await change(app)
        await sender(app).run_once()
        base = f"/v1/admin/subscriptions/{created['id']}"
        seen = (await client.get(f"{base}/deliveries", headers=admin.headers)).json()["items"]
        assert [(a["status"], a["error_code"]) for a in seen] == [("failed", "gone")]
        replayed = await client.post(
            f"{base}/replay", headers=admin.headers, json={"after": first.seq - 1}
        )
        assert replayed.status_code == 200, replayed.text
        assert replayed.json()["subscription"]["status"] == "active"
        await sender(app).run_once()
        assert [r.json()["id"] for r in receiver.received] == [str(first.seq), str(first.seq)]
        forbidden = await client.get(f"{base}/deliveries", headers=consumer.headers)
        assert forbidden.status_code == 403


async def test_settled_webhooks_older_than_the_retention_window_are_purged(
    app: FastAPI, client: httpx.AsyncClient, consumer: ApiCredentials
) -> None:
    with Receiver() as receiver:
        created = await subscribe(client, consumer, receiver.url)
        await change(app)
        await sender(app).run_once()
        receiver.answer_always(500)
        await change(app)
        await sender(app).run_once()
    long_ago = utcnow() - timedelta(days=31)
    async with app.state.hub.sessionmaker.begin() as session:
        await session.execute(update(SubscriptionEvent).values(updated_at=long_ago))
        await session.execute(update(ChangeEvent).values(ingested_at=long_ago))
    assert await sender(app).purge() == 1
    [left] = await deliveries(client, consumer, created["id"])
    assert left["status"] == "pending"  # an undelivered one stays
    # The change log keeps the change the pending webhook still needs, and only that one.
    async with app.state.hub.sessionmaker() as session:
        kept = list(await session.scalars(select(ChangeEvent.seq)))
    assert len(kept) == 1
