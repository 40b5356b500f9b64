"""The consent API of agency systems: record, read, revoke, and refuse bad input precisely."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.consent.models import Consent
from tests.helpers.clients import MakeClient
from tests.helpers.consents import CITIZEN, Consumer, consent_body, iso, record

UNKNOWN_ID = "00000000-0000-0000-0000-000000000000"


async def post(client: httpx.AsyncClient, consumer: Consumer, body: Any) -> httpx.Response:
    return await client.post("/v1/consents", json=body, headers=consumer.headers)


def error_codes(answer: httpx.Response) -> list[tuple[str, str]]:
    return [(e["path"], e["code"]) for e in answer.json()["errors"]]


async def test_recording_a_consent_returns_it_active_with_its_evidence(
    client: httpx.AsyncClient, consumer: Consumer
) -> None:
    consent = await record(client, consumer)
    assert consent["status"] == "ACTIVE"
    assert consent["subject"] == CITIZEN
    assert consent["client_id"] == consumer.client_id
    assert consent["agency"] == "Commune People's Committee, Ba Dinh"
    assert consent["fetch_type"] == "ONE_TIME" and consent["max_uses_per_period"] == 1
    assert consent["capture"]["channel"] == "portal"
    assert consent["capture"]["officer_id"] == "officer-7"
    assert consent["usage"] == {
        "count": 0,
        "last_used_at": None,
        "period_key": None,
        "period_uses": 0,
    }
    shown = await client.get(f"/v1/consents/{consent['id']}", headers=consumer.headers)
    assert shown.status_code == 200
    assert shown.json() == consent


async def test_only_the_consumer_that_recorded_a_consent_can_read_or_revoke_it(
    client: httpx.AsyncClient, consumer: Consumer, make_api_client: MakeClient
) -> None:
    consent = await record(client, consumer)
    other = await make_api_client("consumer")
    for answer in (
        await client.get(f"/v1/consents/{consent['id']}", headers=other.headers),
        await client.get(f"/v1/consents/{consent['id']}/receipt", headers=other.headers),
        await client.post(
            f"/v1/consents/{consent['id']}/revoke", json={"reason": "x"}, headers=other.headers
        ),
        await client.get(f"/v1/consents/{UNKNOWN_ID}", headers=consumer.headers),
        await client.post(
            f"/v1/consents/{UNKNOWN_ID}/revoke", json={"reason": "x"}, headers=consumer.headers
        ),
    ):
        assert answer.status_code == 404
        assert answer.json()["code"] == "consent_not_found"


async def test_revoking_ends_the_consent_and_a_second_revocation_is_an_illegal_transition(
    app: FastAPI, client: httpx.AsyncClient, consumer: Consumer
) -> None:
    consent = await record(client, consumer)
    url = f"/v1/consents/{consent['id']}/revoke"
    revoked = await client.post(url, json={"reason": "withdrawn"}, headers=consumer.headers)
    assert revoked.status_code == 200
    body = revoked.json()
    assert body["status"] == "REVOKED"
    assert body["ended_by"] == "consumer" and body["end_reason"] == "withdrawn"
    again = await client.post(url, json={"reason": "again"}, headers=consumer.headers)
    assert again.status_code == 409
    assert again.json()["code"] == "illegal_consent_transition"
    assert again.json()["from"] == "REVOKED"
    no_reason = await client.post(url, json={}, headers=consumer.headers)
    assert no_reason.status_code == 422
    assert no_reason.json()["code"] == "request_invalid"

    async with app.state.hub.sessionmaker() as session:
        events = (
            await session.scalars(
                select(AuditEvent)
                .where(AuditEvent.subject_hmac == app.state.hub.audit.subject_hmac(CITIZEN))
                .order_by(AuditEvent.seq)
            )
        ).all()
    changes = [(e.kind, e.details["from"], e.details["to"]) for e in events]
    assert changes == [
        ("consent.changed", "NONE", "PENDING"),
        ("consent.changed", "PENDING", "ACTIVE"),
        ("consent.changed", "ACTIVE", "REVOKED"),
    ]
    assert [e.details["actor"] for e in events] == ["consumer", "citizen", "consumer"]
    assert events[1].details["approval"] == {"by": "signed_approval"}
    assert all(e.client_id == consumer.client_id for e in events)
    assert all(CITIZEN not in str(e.details) for e in events)


async def test_every_problem_of_a_bad_consent_is_listed_with_its_code(
    client: httpx.AsyncClient, consumer: Consumer
) -> None:
    body = consent_body(
        subject="12345",
        purpose="Birth Registration!",
        scope=[
            {"record_type": "Unicorn", "fields": ["horn"]},
            {"record_type": "Person", "fields": ["full_name", "shoe_size", "favourite_colour"]},
        ],
    )
    answer = await post(client, consumer, body)
    assert answer.status_code == 422
    assert answer.json()["code"] == "invalid_consent"
    assert error_codes(answer) == [
        ("/subject", "invalid_citizen_id"),
        ("/purpose", "invalid_purpose"),
        ("/scope/0/record_type", "unknown_record_type"),
        ("/scope/1/fields/1", "unknown_field"),
        ("/scope/1/fields/2", "unknown_field"),
    ]


async def test_a_citizen_id_with_an_unknown_province_prefix_is_refused(
    client: httpx.AsyncClient, consumer: Consumer
) -> None:
    answer = await post(client, consumer, consent_body(subject="999203012345"))
    assert error_codes(answer) == [("/subject", "invalid_citizen_id")]


async def test_the_validity_must_end_after_it_starts_and_last_at_most_a_year(
    client: httpx.AsyncClient, consumer: Consumer
) -> None:
    now = datetime.now(UTC)
    backwards = consent_body(
        validity={"start": iso(now + timedelta(days=2)), "expiry": iso(now + timedelta(days=1))}
    )
    answer = await post(client, consumer, backwards)
    assert answer.status_code == 422
    assert error_codes(answer) == [("/validity/expiry", "invalid_validity")]
    too_long = consent_body(validity={"expiry": iso(now + timedelta(days=400))})
    assert error_codes(await post(client, consumer, too_long)) == [
        ("/validity/expiry", "validity_too_long")
    ]
    past = consent_body(
        validity={"start": iso(now - timedelta(days=9)), "expiry": iso(now - timedelta(days=1))}
    )
    assert error_codes(await post(client, consumer, past)) == [
        ("/validity/expiry", "invalid_validity")
    ]


async def test_fetch_types_and_their_limits_are_checked(
    client: httpx.AsyncClient, consumer: Consumer
) -> None:
    bad_type = await post(client, consumer, consent_body(fetch_type="SOMETIMES"))
    assert bad_type.status_code == 422
    assert bad_type.json()["code"] == "request_invalid"
    assert bad_type.json()["errors"][0]["path"] == "/fetch_type"
    no_limit = await post(client, consumer, consent_body(fetch_type="PERIODIC"))
    assert error_codes(no_limit) == [("/fetch_type", "invalid_fetch_limits")]
    one_time_with_period = await post(client, consumer, consent_body(period="day"))
    assert error_codes(one_time_with_period) == [("/fetch_type", "invalid_fetch_limits")]
    bad_period = await post(
        client,
        consumer,
        consent_body(fetch_type="PERIODIC", max_uses_per_period=2, period="fortnight"),
    )
    assert bad_period.json()["code"] == "request_invalid"
    periodic = await post(
        client,
        consumer,
        consent_body(fetch_type="PERIODIC", max_uses_per_period=3, period="month"),
    )
    assert periodic.status_code == 201
    assert periodic.json()["max_uses_per_period"] == 3 and periodic.json()["period"] == "month"


async def test_malformed_requests_get_the_request_invalid_code(
    client: httpx.AsyncClient, consumer: Consumer
) -> None:
    for body in (
        {},
        consent_body(scope=[]),
        consent_body(capture={"channel": "carrier-pigeon", "captured_at": iso(datetime.now(UTC))}),
        consent_body(status="REVOKED"),
        {**consent_body(), "surprise": 1},
    ):
        answer = await post(client, consumer, body)
        assert answer.status_code == 422, body
        assert answer.json()["code"] == "request_invalid"


async def test_an_officer_id_that_is_not_a_short_printable_header_is_invalid_header(
    client: httpx.AsyncClient, consumer: Consumer
) -> None:
    consent = await record(client, consumer)
    for officer_id in ("x" * 201, "officer\tseven"):
        headers = {**consumer.headers, "X-User-Id": officer_id}
        created = await client.post("/v1/consents", json=consent_body(), headers=headers)
        assert created.status_code == 400, created.text
        assert created.json()["code"] == "invalid_header"
        revoked = await client.post(
            f"/v1/consents/{consent['id']}/revoke", json={"reason": "withdrawn"}, headers=headers
        )
        assert revoked.status_code == 400, revoked.text
        assert revoked.json()["code"] == "invalid_header"
    shown = await client.get(f"/v1/consents/{consent['id']}", headers=consumer.headers)
    assert shown.json()["status"] == "ACTIVE"


async def test_a_capture_time_in_the_future_is_refused(
    client: httpx.AsyncClient, consumer: Consumer
) -> None:
    later = iso(datetime.now(UTC) + timedelta(hours=2))
    answer = await post(
        client, consumer, consent_body(capture={"channel": "counter", "captured_at": later})
    )
    assert error_codes(answer) == [("/capture/captured_at", "invalid_capture")]


async def test_the_consent_is_stored_in_utc_whatever_zone_the_client_sends(
    app: FastAPI, client: httpx.AsyncClient, consumer: Consumer
) -> None:
    hanoi = datetime.now(UTC).astimezone(timezone(timedelta(hours=7)))
    consent = await record(
        client,
        consumer,
        validity={"start": hanoi.isoformat(), "expiry": (hanoi + timedelta(days=1)).isoformat()},
    )
    start = datetime.fromisoformat(consent["validity"]["start"])
    assert start.utcoffset() == timedelta(0)
    assert abs((start - hanoi).total_seconds()) < 1
    async with app.state.hub.sessionmaker() as session:
        assert await session.get(Consent, consent["id"]) is not None
