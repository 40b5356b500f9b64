"""Webhooks: a change in the log reaches each matching subscriber's receiver (a real HTTP
server on loopback), signed per Standard Webhooks, as a CloudEvent, in order, with retries."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi import FastAPI
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook

from app.audit.models import AuditEvent
from app.events import EventKind
from app.security.citizen import issue_citizen_token
from app.subscriptions.signing import signed_content
from tests.helpers.clients import ApiCredentials, MakeClient
from tests.helpers.sources import consumer_for, grant, pull_headers, register
from tests.subscriptions.receiver import Receiver
from tests.subscriptions.steps import (
    CITIZEN,
    PURPOSE,
    change,
    deliveries,
    send_until,
    sender,
    subscribe,
)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


@pytest.fixture
async def consumer(app: FastAPI, make_api_client: MakeClient) -> ApiCredentials:
    return await consumer_for(
        app, make_api_client, {"Person": None, "Residence": None}, purpose=PURPOSE
    )


async def _notified(app: FastAPI) -> list[AuditEvent]:
    async with app.state.hub.sessionmaker() as session:
        rows = await session.scalars(
            select(AuditEvent)
            .where(AuditEvent.kind == EventKind.SUBSCRIPTION_NOTIFIED)
            .order_by(AuditEvent.seq)
        )
        return list(rows)


def _verify_v1a(public_key: str, received: Any) -> None:
    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key.removeprefix("whpk_")))
    signatures = [
        s.split(",", 1)[1]
        for s in received.headers["webhook-signature"].split(" ")
        if s.startswith("v1a,")
    ]
    assert len(signatures) == 1
    content = signed_content(
        received.headers["webhook-id"], int(received.headers["webhook-timestamp"]), received.body
    )
    key.verify(base64.b64decode(signatures[0]), content)  # raises if it does not verify


async def test_a_change_reaches_the_receiver_signed_and_the_receiver_pulls_the_new_value(
    app: FastAPI,
    client: httpx.AsyncClient,
    make_api_client: MakeClient,
    consumer: ApiCredentials,
    receiver: Receiver,
    mock_servers: Any,
    settings: Any,
) -> None:
    integrator = await make_api_client("integrator")
    await register(client, integrator, mock_servers, "population")
    subject: str = mock_servers.dataset.demo_citizens(1)[0]
    created = await subscribe(client, consumer, receiver.url)
    assert created["secret"].startswith("whsec_")
    # The source records a new name; its feed would report the change.
    async with httpx.AsyncClient() as mock:
        injected = await mock.post(
            f"{mock_servers.url('population')}/__changes",
            json={
                "kind": "person",
                "subject": subject,
                "operation": "update",
                "fields": {"hoVaTen": "Nguyễn Văn Mới"},
            },
        )
        assert injected.status_code < 300, injected.text
    appended = await change(app, subject, fields=("full_name",))

    await send_until(app, lambda: len(receiver.received) == 1)

    webhook = receiver.received[0]
    event = Webhook(created["secret"]).verify(webhook.body, webhook.headers)
    key = await client.get("/v1/subscriptions/signing-key", headers=consumer.headers)
    _verify_v1a(key.json()["public_key"], webhook)
    assert webhook.headers["content-type"].startswith("application/cloudevents+json")
    assert event["specversion"] == "1.0"
    assert event["id"] == str(appended.seq)
    assert event["type"] == "vn.gov.population.person.updated"
    assert event["source"] == "urn:vn:declare-once:population"
    assert event["subject"] == subject
    assert event["dataschema"].endswith(
        f"/v1/dictionary/records/Person/versions/{appended.dictionary_version}"
    )
    assert event["data"]["changed_fields"] == ["full_name"]
    assert "Nguyễn Văn Mới" not in webhook.body.decode()  # thin: never the values

    # The receiver pulls the value through the data path, under its purpose.
    pulled = await client.get(event["data"]["pull"], headers=pull_headers(consumer, PURPOSE))
    assert pulled.status_code == 200, pulled.text
    assert pulled.json()["record"]["full_name"] == "Nguyễn Văn Mới"

    notified = await _notified(app)
    assert len(notified) == 1
    assert notified[0].client_id == consumer.client_id
    assert notified[0].outcome == "ok"
    assert notified[0].record_type == "Person"
    assert notified[0].fields == ["full_name"]
    assert notified[0].purpose == PURPOSE
    assert notified[0].subject_hmac == app.state.hub.audit.subject_hmac(subject)

    # The citizen sees which agency was told.
    token = issue_citizen_token(settings, subject)
    log = await client.get("/v1/me/access-log", headers={"Authorization": f"Bearer {token}"})
    kinds = {(e["kind"], e["agency"]) for e in log.json()["items"]}
    assert (EventKind.SUBSCRIPTION_NOTIFIED, "Test agency") in kinds


async def test_a_receiver_answering_500_gets_retries_and_then_the_event(
    app: FastAPI, client: httpx.AsyncClient, consumer: ApiCredentials, receiver: Receiver
) -> None:
    created = await subscribe(client, consumer, receiver.url)
    receiver.answer(500, 503)
    appended = await change(app)

    await sender(app).run_once()
    [attempt] = await deliveries(client, consumer, created["id"])
    assert (attempt["status"], attempt["error_code"], attempt["http_status"]) == (
        "pending",
        "receiver_error",
        500,
    )
    await send_until(app, lambda: len(receiver.received) == 3)

    [attempt] = await deliveries(client, consumer, created["id"])
    assert (attempt["status"], attempt["attempts"], attempt["http_status"]) == ("delivered", 3, 200)
    ids = {r.headers["webhook-id"] for r in receiver.received}
    assert ids == {attempt["webhook_id"]}  # the same message id on every attempt
    for received in receiver.received:
        assert Webhook(created["secret"]).verify(received.body, received.headers)["id"] == str(
            appended.seq
        )
    outcomes = [e.outcome for e in await _notified(app)]
    assert outcomes == ["error", "error", "ok"]
    sub = (await client.get(f"/v1/subscriptions/{created['id']}", headers=consumer.headers)).json()
    assert sub["status"] == "active" and sub["last_delivered_at"] is not None


async def test_410_disables_the_subscription_and_nothing_more_is_queued(
    app: FastAPI, client: httpx.AsyncClient, consumer: ApiCredentials, receiver: Receiver
) -> None:
    created = await subscribe(client, consumer, receiver.url)
    receiver.answer(410)
    await change(app)
    await send_until(app, lambda: len(receiver.received) == 1)
    await sender(app).run_once()

    sub = (await client.get(f"/v1/subscriptions/{created['id']}", headers=consumer.headers)).json()
    assert (sub["status"], sub["status_reason"], sub["last_http_status"]) == (
        "disabled",
        "gone",
        410,
    )
    [attempt] = await deliveries(client, consumer, created["id"])
    assert (attempt["status"], attempt["error_code"]) == ("failed", "gone")
    await change(app)
    assert await sender(app).run_once() == 0
    assert len(await deliveries(client, consumer, created["id"])) == 1
    assert len(receiver.received) == 1


async def test_429_waits_for_retry_after(
    app: FastAPI, client: httpx.AsyncClient, consumer: ApiCredentials, receiver: Receiver
) -> None:
    created = await subscribe(client, consumer, receiver.url)
    receiver.answer(429, headers={"Retry-After": "120"})
    await change(app)
    await sender(app).run_once()

    [attempt] = await deliveries(client, consumer, created["id"])
    assert (attempt["status"], attempt["error_code"], attempt["http_status"]) == (
        "pending",
        "rate_limited",
        429,
    )
    # Not due before Retry-After, though the (test) schedule would retry at once.
    assert await sender(app).run_once() == 0
    assert len(receiver.received) == 1


async def test_order_is_kept_per_subscription_and_a_failing_one_holds_back_no_other(
    app: FastAPI, client: httpx.AsyncClient, consumer: ApiCredentials
) -> None:
    with Receiver() as down, Receiver() as up:
        slow = await subscribe(client, consumer, down.url)
        fast = await subscribe(client, consumer, up.url)
        down.answer_always(503)
        first = await change(app, fields=("full_name",))
        second = await change(app, fields=("date_of_birth",), operation="updated")
        third = await change(app, operation="deleted", fields=())

        await send_until(app, lambda: len(up.received) == 3)
        assert [r.json()["id"] for r in up.received] == [
            str(first.seq),
            str(second.seq),
            str(third.seq),
        ]
        # The failing receiver only ever saw its first change, again and again.
        assert {r.json()["id"] for r in down.received} == {str(first.seq)}
        states = {
            d["change_seq"]: d["status"] for d in await deliveries(client, consumer, slow["id"])
        }
        assert states == {first.seq: "pending", second.seq: "pending", third.seq: "pending"}

        down.answer_always(None)
        await send_until(
            app,
            lambda: len(down.received) >= 3 and down.received[-1].json()["id"] == str(third.seq),
        )
        delivered = [r.json()["id"] for r in down.received]
        assert delivered[-3:] == [str(first.seq), str(second.seq), str(third.seq)]
        assert fast["id"] != slow["id"]


async def test_a_deletion_arrives_as_a_deleted_event(
    app: FastAPI, client: httpx.AsyncClient, consumer: ApiCredentials, receiver: Receiver
) -> None:
    created = await subscribe(client, consumer, receiver.url, record_types=("Residence",))
    await change(app, CITIZEN, record_type="Residence", operation="deleted", fields=())
    await send_until(app, lambda: len(receiver.received) == 1)

    event = Webhook(created["secret"]).verify(
        receiver.received[0].body, receiver.received[0].headers
    )
    assert event["type"] == "vn.gov.population.residence.deleted"
    assert event["data"]["operation"] == "deleted"
    assert event["data"]["changed_fields"] == []


async def test_after_the_last_attempt_it_is_failing_and_a_replay_sends_again(
    app: FastAPI,
    client: httpx.AsyncClient,
    consumer: ApiCredentials,
    admin: ApiCredentials,
    receiver: Receiver,
) -> None:
    created = await subscribe(client, consumer, receiver.url)
    receiver.answer_always(500)
    first = await change(app)
    await send_until(app, lambda: len(receiver.received) == 8)
    await sender(app).run_once()

    sub = (await client.get(f"/v1/subscriptions/{created['id']}", headers=consumer.headers)).json()
    assert (sub["status"], sub["status_reason"]) == ("failing", "retries_exhausted")
    [attempt] = await deliveries(client, consumer, created["id"])
    assert (attempt["status"], attempt["attempts"]) == ("failed", 8)
    second = await change(app)  # queued while failing, not sent
    assert await sender(app).run_once() == 0
    admin = (
        await client.get("/v1/admin/subscriptions?status=failing", headers=admin.headers)
    ).json()
    assert [s["id"] for s in admin["items"]] == [created["id"]]

    receiver.answer_always(None)
    replayed = await client.post(
        f"/v1/subscriptions/{created['id']}/replay",
        headers=consumer.headers,
        json={"after": first.seq - 1},
    )
    assert replayed.status_code == 200, replayed.text
    assert replayed.json()["queued"] == 2 and replayed.json()["subscription"]["status"] == "active"
    before = len(receiver.received)
    await send_until(app, lambda: len(receiver.received) == before + 2)
    assert [r.json()["id"] for r in receiver.received[before:]] == [str(first.seq), str(second.seq)]


async def test_during_a_rotation_both_secrets_sign(
    app: FastAPI, client: httpx.AsyncClient, consumer: ApiCredentials, receiver: Receiver
) -> None:
    created = await subscribe(client, consumer, receiver.url)
    rotated = await client.post(
        f"/v1/subscriptions/{created['id']}/rotate-secret", headers=consumer.headers
    )
    assert rotated.status_code == 200, rotated.text
    new_secret = rotated.json()["secret"]
    assert new_secret != created["secret"] and rotated.json()["previous_secret_until"]
    await change(app)
    await send_until(app, lambda: len(receiver.received) == 1)

    webhook = receiver.received[0]
    versions = [s.split(",", 1)[0] for s in webhook.headers["webhook-signature"].split(" ")]
    assert versions == ["v1", "v1", "v1a"]
    Webhook(new_secret).verify(webhook.body, webhook.headers)
    Webhook(created["secret"]).verify(webhook.body, webhook.headers)


async def test_a_revoked_access_right_withholds_the_webhook(
    app: FastAPI, client: httpx.AsyncClient, consumer: ApiCredentials, receiver: Receiver
) -> None:
    created = await subscribe(client, consumer, receiver.url)
    await grant(app, consumer, [])
    await change(app)
    await sender(app).run_once()

    assert receiver.received == []
    [attempt] = await deliveries(client, consumer, created["id"])
    assert (attempt["status"], attempt["error_code"]) == ("withheld", "access_revoked")
    assert await _notified(app) == []


async def test_a_subscriber_is_told_only_of_the_fields_it_may_read(
    app: FastAPI, client: httpx.AsyncClient, make_api_client: MakeClient, receiver: Receiver
) -> None:
    narrow = await consumer_for(app, make_api_client, {"Person": ["full_name"]}, purpose=PURPOSE)
    created = await subscribe(client, narrow, receiver.url)
    hidden = await change(app, fields=("sex",))
    both = await change(app, fields=("full_name", "sex"))
    await send_until(app, lambda: len(receiver.received) == 1)
    await sender(app).run_once()

    [told] = receiver.received
    assert told.json()["id"] == str(both.seq)
    assert told.json()["data"]["changed_fields"] == ["full_name"]
    states = {a["change_seq"]: a for a in await deliveries(client, narrow, created["id"])}
    assert (states[hidden.seq]["status"], states[hidden.seq]["error_code"]) == (
        "withheld",
        "fields_not_granted",
    )
    assert [e.fields for e in await _notified(app)] == [["full_name"]]
    page = await client.get(f"/v1/subscriptions/{created['id']}/events", headers=narrow.headers)
    assert [(e["id"], e["data"]["changed_fields"]) for e in page.json()["items"]] == [
        (str(both.seq), ["full_name"])
    ]


async def test_the_hubs_own_news_of_a_conflict_arrives_like_any_change(
    app: FastAPI, client: httpx.AsyncClient, consumer: ApiCredentials, receiver: Receiver
) -> None:
    created = await subscribe(client, consumer, receiver.url)
    opened = await change(app, system="hub", operation="conflict_opened", fields=("full_name",))
    await send_until(app, lambda: len(receiver.received) == 1)

    event = Webhook(created["secret"]).verify(
        receiver.received[0].body, receiver.received[0].headers
    )
    assert event["id"] == str(opened.seq)
    assert event["type"] == "vn.gov.hub.person.conflict_opened"
    assert event["source"] == "urn:vn:declare-once:hub"
    page = await client.get(f"/v1/subscriptions/{created['id']}/events", headers=consumer.headers)
    assert page.status_code == 200, page.text
    assert [e["type"] for e in page.json()["items"]] == ["vn.gov.hub.person.conflict_opened"]
