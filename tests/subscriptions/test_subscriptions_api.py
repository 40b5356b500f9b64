"""Managing subscriptions (deny by default, allow-listed receivers, secrets shown once, states
and their transitions) and the pull feed (replay from any sequence within retention)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from app.audit.models import AuditEvent
from app.changes.models import ChangeEvent
from app.events import EventKind
from app.subscriptions.models import Subscription
from app.timestamps import utcnow
from tests.helpers.clients import ApiCredentials, MakeClient
from tests.helpers.sources import consumer_for, grant
from tests.subscriptions.steps import CITIZEN, OTHER_CITIZEN, PURPOSE, change, subscribe

HOOK = "http://127.0.0.1:9/hooks"


@pytest.fixture
async def consumer(app: FastAPI, make_api_client: MakeClient) -> ApiCredentials:
    return await consumer_for(app, make_api_client, {"Person": None}, purpose=PURPOSE)


def _problem(answer: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = answer.json()
    assert body["code"] == code, body
    return body


async def _create(client: httpx.AsyncClient, who: ApiCredentials, **body: Any) -> httpx.Response:
    payload = {"record_types": ["Person"], "purpose": PURPOSE, "url": HOOK, **body}
    return await client.post("/v1/subscriptions", headers=who.headers, json=payload)


async def test_a_subscriber_without_the_access_right_cannot_subscribe(
    client: httpx.AsyncClient, consumer: ApiCredentials, make_api_client: MakeClient
) -> None:
    stranger = await make_api_client("consumer")
    body = _problem(await _create(client, stranger), 403, "subscription_not_granted")
    assert body["missing"]["record_types"] == ["Person"]
    _problem(
        await _create(client, consumer, record_types=["Person", "Taxpayer"]),
        403,
        "subscription_not_granted",
    )
    _problem(await _create(client, consumer, purpose="tax-audit"), 403, "subscription_not_granted")
    _problem(
        await _create(client, consumer, record_types=["NoSuchRecord"]), 422, "invalid_subscription"
    )


@pytest.mark.parametrize(
    "url",
    [
        "http://example.org/hooks",
        "https://10.0.0.1/hooks",
        "ftp://127.0.0.1/hooks",
        "http://user:pw@127.0.0.1/hooks",
        "http://127.0.0.1.example.org/hooks",
        "not a url",
    ],
)
async def test_a_receiver_off_the_allow_list_is_refused(
    client: httpx.AsyncClient, consumer: ApiCredentials, url: str
) -> None:
    _problem(await _create(client, consumer, url=url), 422, "webhook_url_not_allowed")


async def test_a_webhook_needs_a_url_and_a_pull_takes_none(
    client: httpx.AsyncClient, consumer: ApiCredentials
) -> None:
    _problem(await _create(client, consumer, url=None), 422, "invalid_subscription")
    _problem(await _create(client, consumer, delivery="pull"), 422, "invalid_subscription")


async def test_the_secret_is_shown_once_and_kept_sealed(
    app: FastAPI, client: httpx.AsyncClient, consumer: ApiCredentials
) -> None:
    created = await subscribe(client, consumer, HOOK, subjects=[CITIZEN])
    secret = created["secret"]
    shown = (
        await client.get(f"/v1/subscriptions/{created['id']}", headers=consumer.headers)
    ).json()
    assert "secret" not in shown and shown["subject_count"] == 1
    listed = (await client.get("/v1/subscriptions", headers=consumer.headers)).json()
    assert secret not in str(listed) and CITIZEN not in str(listed)
    async with app.state.hub.sessionmaker() as session:
        row = await session.get(Subscription, created["id"])
        assert row is not None
        assert secret not in (row.secrets_sealed or "")
        assert CITIZEN not in str(row.subject_hmacs)
        events = (await session.scalars(select(AuditEvent))).all()
        assert all(secret not in str(e.details) for e in events)


async def test_another_clients_subscription_is_not_found(
    app: FastAPI, client: httpx.AsyncClient, consumer: ApiCredentials, make_api_client: MakeClient
) -> None:
    created = await subscribe(client, consumer, HOOK)
    other = await consumer_for(app, make_api_client, {"Person": None}, purpose=PURPOSE)
    for method, path in [
        ("GET", ""),
        ("POST", "/pause"),
        ("POST", "/rotate-secret"),
        ("GET", "/events"),
        ("GET", "/deliveries"),
        ("DELETE", ""),
    ]:
        answer = await client.request(
            method, f"/v1/subscriptions/{created['id']}{path}", headers=other.headers
        )
        _problem(answer, 404, "subscription_not_found")
    assert (await client.get("/v1/subscriptions", headers=other.headers)).json()["items"] == []


async def test_pause_resume_and_delete(
    app: FastAPI, client: httpx.AsyncClient, consumer: ApiCredentials, admin: ApiCredentials
) -> None:
    created = await subscribe(client, consumer, HOOK)
    base = f"/v1/subscriptions/{created['id']}"
    paused = await client.post(f"{base}/pause", headers=consumer.headers)
    assert paused.json()["status"] == "paused"
    _problem(
        await client.post(f"{base}/pause", headers=consumer.headers),
        409,
        "illegal_subscription_transition",
    )
    await change(app)  # queued while paused
    assert (
        len((await client.get(f"{base}/deliveries", headers=consumer.headers)).json()["items"]) == 1
    )
    resumed = await client.post(f"{base}/resume", headers=consumer.headers)
    assert resumed.json()["status"] == "active"
    _problem(
        await client.post(f"{base}/resume", headers=consumer.headers),
        409,
        "illegal_subscription_transition",
    )

    every = (await client.get("/v1/admin/subscriptions", headers=admin.headers)).json()
    assert [s["id"] for s in every["items"]] == [created["id"]]
    _problem(
        await client.get("/v1/admin/subscriptions", headers=consumer.headers), 403, "role_required"
    )

    assert (await client.delete(base, headers=consumer.headers)).status_code == 204
    _problem(await client.get(base, headers=consumer.headers), 404, "subscription_not_found")
    async with app.state.hub.sessionmaker() as session:
        actions = [
            e.details["action"]
            for e in await session.scalars(
                select(AuditEvent)
                .where(AuditEvent.kind == EventKind.SUBSCRIPTION_CHANGED)
                .order_by(AuditEvent.seq)
            )
        ]
    assert actions == ["created", "paused", "resumed", "deleted"]


async def test_a_pull_subscription_has_no_secret_and_replays_through_its_feed(
    client: httpx.AsyncClient, consumer: ApiCredentials
) -> None:
    created = await subscribe(client, consumer, None)
    assert created["secret"] is None and created["delivery"] == "pull"
    base = f"/v1/subscriptions/{created['id']}"
    _problem(
        await client.post(f"{base}/rotate-secret", headers=consumer.headers),
        409,
        "illegal_subscription_transition",
    )
    _problem(
        await client.post(f"{base}/replay", headers=consumer.headers, json={"after": 0}),
        409,
        "illegal_subscription_transition",
    )


async def _feed(
    client: httpx.AsyncClient, consumer: ApiCredentials, subscription_id: str, **params: Any
) -> dict[str, Any]:
    answer = await client.get(
        f"/v1/subscriptions/{subscription_id}/events", headers=consumer.headers, params=params
    )
    assert answer.status_code == 200, answer.text
    page: dict[str, Any] = answer.json()
    return page


async def test_the_feed_replays_the_same_events_in_order_from_any_sequence(
    app: FastAPI, client: httpx.AsyncClient, consumer: ApiCredentials
) -> None:
    created = await subscribe(client, consumer, None)
    changes = [await change(app, fields=(f,)) for f in ("full_name", "sex", "date_of_birth")]
    changes.append(await change(app, operation="deleted", fields=()))
    seqs = [str(c.seq) for c in changes]

    whole = await _feed(client, consumer, created["id"])
    assert [e["id"] for e in whole["items"]] == seqs
    assert whole["items"][-1]["type"] == "vn.gov.population.person.deleted"
    assert whole["next_after"] == changes[-1].seq and not whole["has_more"]
    again = await _feed(client, consumer, created["id"], after=changes[0].seq)
    assert again["items"] == whole["items"][1:]
    assert (await _feed(client, consumer, created["id"], after=changes[0].seq)) == again

    first_page = await _feed(client, consumer, created["id"], limit=2)
    assert [e["id"] for e in first_page["items"]] == seqs[:2] and first_page["has_more"]
    rest = await _feed(client, consumer, created["id"], after=first_page["next_after"], limit=2)
    assert [e["id"] for e in rest["items"]] == seqs[2:]

    async with app.state.hub.sessionmaker() as session:
        served = (
            await session.scalars(
                select(AuditEvent).where(AuditEvent.kind == EventKind.SUBSCRIPTION_NOTIFIED)
            )
        ).all()
    # Every change served is logged as the subscriber being told of it.
    assert len(served) == 4 + 3 + 3 + 2 + 2
    assert {e.details["channel"] for e in served} == {"pull"}


async def test_the_feed_keeps_to_the_subscriptions_filters_and_the_retention_window(
    app: FastAPI, client: httpx.AsyncClient, consumer: ApiCredentials
) -> None:
    by_subject = await subscribe(client, consumer, None, subjects=[CITIZEN])
    by_province = await subscribe(client, consumer, None, province_codes=["01"])
    mine = await change(app, CITIZEN, province="79")
    theirs = await change(app, OTHER_CITIZEN, province="01")
    await change(app, CITIZEN, record_type="Residence")  # not subscribed
    old = await change(app, CITIZEN, province="01")
    async with app.state.hub.sessionmaker.begin() as session:
        await session.execute(
            update(ChangeEvent)
            .where(ChangeEvent.seq == old.seq)
            .values(ingested_at=utcnow() - timedelta(days=31))
        )

    subject_feed = await _feed(client, consumer, by_subject["id"])
    assert [e["id"] for e in subject_feed["items"]] == [str(mine.seq)]
    province_feed = await _feed(client, consumer, by_province["id"])
    assert [e["id"] for e in province_feed["items"]] == [str(theirs.seq)]


async def test_a_revoked_access_right_stops_the_feed(
    app: FastAPI, client: httpx.AsyncClient, consumer: ApiCredentials
) -> None:
    created = await subscribe(client, consumer, None)
    await change(app)
    await grant(app, consumer, [])
    answer = await client.get(f"/v1/subscriptions/{created['id']}/events", headers=consumer.headers)
    _problem(answer, 403, "subscription_not_granted")


@pytest.mark.parametrize(
    ("name", "value", "code"),
    [
        *[
            ("after", v, "invalid_sequence")
            for v in ("-1", "9223372036854775808", "99999999999999999999999", "abc", "1.5", "１")
        ],
        *[("limit", v, "invalid_limit") for v in ("0", "1001", "-5", "x", "00001000000")],
    ],
)
async def test_a_position_or_page_size_out_of_range_is_400(
    client: httpx.AsyncClient, consumer: ApiCredentials, name: str, value: str, code: str
) -> None:
    created = await subscribe(client, consumer, None)
    answer = await client.get(
        f"/v1/subscriptions/{created['id']}/events",
        headers=consumer.headers,
        params={name: value},
    )
    _problem(answer, 400, code)
