"""decide_basis: one function decides the basis of every pull, from the database each time."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI

from app.consent.basis import Basis, ConsentCheck, ConsentRefused, NoBasis, check_consent
from app.errors import HubError
from tests.helpers.clients import MakeClient
from tests.helpers.consents import CITIZEN, PURPOSE, Consumer, citizen_headers, decide, iso, record

LEGAL = "Decree 278/2025/ND-CP, Art. 12"


async def refusal_code(coroutine: object) -> str:
    with pytest.raises(HubError) as caught:
        await coroutine  # type: ignore[misc]
    assert caught.value.status == 403
    return caught.value.code


async def test_a_legal_basis_needs_no_consent(app: FastAPI, consumer: Consumer) -> None:
    basis = await decide(app, consumer, legal_basis=LEGAL)
    assert basis == Basis(kind="legal", reference=LEGAL)


async def test_without_any_consent_there_is_no_basis(app: FastAPI, consumer: Consumer) -> None:
    with pytest.raises(NoBasis) as caught:
        await decide(app, consumer)
    assert caught.value.code == "no_basis"


async def test_an_active_consent_is_the_basis_and_each_use_is_counted(
    app: FastAPI, client: httpx.AsyncClient, consumer: Consumer
) -> None:
    consent = await record(
        client, consumer, fetch_type="PERIODIC", max_uses_per_period=5, period="day"
    )
    basis = await decide(app, consumer, fields=("full_name", "date_of_birth"))
    assert basis == Basis(kind="consent", reference=consent["id"])
    await decide(app, consumer)
    usage = (await client.get(f"/v1/consents/{consent['id']}", headers=consumer.headers)).json()[
        "usage"
    ]
    assert usage["count"] == 2 and usage["period_uses"] == 2
    assert usage["last_used_at"] is not None


async def test_a_one_time_consent_blocks_the_second_use(
    app: FastAPI, client: httpx.AsyncClient, consumer: Consumer
) -> None:
    await record(client, consumer)
    assert (await decide(app, consumer)).kind == "consent"
    assert await refusal_code(decide(app, consumer)) == "consent_exhausted"


async def test_two_concurrent_uses_spend_a_one_time_consent_only_once(
    app: FastAPI, client: httpx.AsyncClient, consumer: Consumer
) -> None:
    consent = await record(client, consumer)
    results = await asyncio.gather(
        *(decide(app, consumer) for _ in range(6)), return_exceptions=True
    )
    granted = [r for r in results if isinstance(r, Basis)]
    refused = [r for r in results if isinstance(r, ConsentRefused)]
    assert len(granted) == 1 and len(refused) == 5, results
    assert {r.code for r in refused} == {"consent_exhausted"}
    shown = (await client.get(f"/v1/consents/{consent['id']}", headers=consumer.headers)).json()
    assert shown["usage"]["count"] == 1


async def test_a_periodic_consent_allows_its_maximum_per_period_and_renews_with_the_period(
    app: FastAPI, client: httpx.AsyncClient, consumer: Consumer
) -> None:
    await record(client, consumer, fetch_type="PERIODIC", max_uses_per_period=2, period="day")
    today = datetime.now(UTC)
    await decide(app, consumer, now=today)
    await decide(app, consumer, now=today)
    assert await refusal_code(decide(app, consumer, now=today)) == "consent_exhausted"
    tomorrow = today + timedelta(days=1)
    assert (await decide(app, consumer, now=tomorrow)).kind == "consent"


async def test_a_revoked_consent_blocks_the_next_decision_at_once(
    app: FastAPI, client: httpx.AsyncClient, consumer: Consumer
) -> None:
    consent = await record(
        client, consumer, fetch_type="PERIODIC", max_uses_per_period=100, period="month"
    )
    assert (await decide(app, consumer)).kind == "consent"
    revoked = await client.post(
        f"/v1/consents/{consent['id']}/revoke",
        json={"reason": "applicant withdrew at the counter"},
        headers=consumer.headers,
    )
    assert revoked.status_code == 200, revoked.text
    assert await refusal_code(decide(app, consumer)) == "consent_revoked"


async def test_an_expired_consent_blocks_and_is_marked_expired(
    app: FastAPI, client: httpx.AsyncClient, consumer: Consumer
) -> None:
    consent = await record(
        client, consumer, fetch_type="PERIODIC", max_uses_per_period=9, period="day"
    )
    expiry = datetime.fromisoformat(consent["validity"]["expiry"])
    assert await refusal_code(decide(app, consumer, now=expiry)) == "consent_expired"
    shown = (await client.get(f"/v1/consents/{consent['id']}", headers=consumer.headers)).json()
    assert shown["status"] == "EXPIRED" and shown["ended_by"] == "hub"
    assert await refusal_code(decide(app, consumer)) == "consent_expired"


async def test_a_consent_for_procedure_a_gives_nothing_for_procedure_b(
    app: FastAPI, client: httpx.AsyncClient, consumer: Consumer
) -> None:
    await record(client, consumer, purpose="birth-registration")
    code = await refusal_code(decide(app, consumer, purpose="permanent-residence-registration"))
    assert code == "consent_purpose_mismatch"
    assert (await decide(app, consumer, purpose="birth-registration")).kind == "consent"


async def test_a_field_or_record_type_outside_the_scope_is_refused(
    app: FastAPI, client: httpx.AsyncClient, consumer: Consumer
) -> None:
    await record(client, consumer)
    with pytest.raises(ConsentRefused) as caught:
        await decide(app, consumer, fields=("full_name", "ethnicity"))
    assert caught.value.code == "consent_scope"
    assert caught.value.extra["outside_scope"] == ["Person.ethnicity"]
    code = await refusal_code(
        decide(app, consumer, record_type="Residence", fields=("address_line",))
    )
    assert code == "consent_scope"
    # Neither refusal spent the consent.
    assert (await decide(app, consumer)).kind == "consent"


async def test_another_clients_consent_is_no_basis_for_this_client(
    app: FastAPI, client: httpx.AsyncClient, consumer: Consumer, make_api_client: MakeClient
) -> None:
    await record(client, consumer)
    other = await make_api_client("consumer")
    assert await refusal_code(decide(app, other)) == "no_basis"


async def test_the_most_informative_refusal_is_reported(
    app: FastAPI, client: httpx.AsyncClient, consumer: Consumer
) -> None:
    await record(client, consumer, purpose="death-registration")
    revoked = await record(client, consumer)
    await client.post(
        f"/v1/consents/{revoked['id']}/revoke", json={"reason": "x"}, headers=consumer.headers
    )
    with pytest.raises(ConsentRefused) as caught:
        await decide(app, consumer)
    assert caught.value.code == "consent_revoked"
    assert caught.value.extra["consent_id"] == revoked["id"]
    fresh = await record(client, consumer)
    assert (await decide(app, consumer)).reference == fresh["id"]


async def test_a_pending_consent_allows_nothing_until_the_citizen_approves_it(
    app: FastAPI, client: httpx.AsyncClient, consumer: Consumer
) -> None:
    consent = await record(client, consumer, approve=False)
    assert consent["status"] == "PENDING"
    assert await refusal_code(decide(app, consumer)) == "consent_not_active"
    settings = app.state.hub.settings
    approved = await client.post(
        f"/v1/me/consents/{consent['id']}/approve", headers=citizen_headers(settings)
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "ACTIVE"
    assert (await decide(app, consumer)).reference == consent["id"]


async def test_check_consent_reads_without_spending(
    app: FastAPI, client: httpx.AsyncClient, consumer: Consumer
) -> None:
    async def check(fields: list[str]) -> ConsentCheck:
        async with app.state.hub.sessionmaker() as session:
            return await check_consent(
                session,
                client_id=consumer.client_id,
                subject_id=CITIZEN,
                record_type="Person",
                fields=fields,
                purpose=PURPOSE,
            )

    missing = await check(["full_name"])
    assert missing.code == "no_basis" and missing.consent_id is None
    consent = await record(client, consumer)
    for _ in range(3):
        present = await check(["full_name"])
        assert present.ok and present.consent_id == consent["id"]
    outside = await check(["ethnicity"])
    assert outside.code == "consent_scope"
    assert (await decide(app, consumer)).kind == "consent"
    spent = await check(["full_name"])
    assert spent.code == "consent_exhausted"


async def test_a_consent_not_yet_started_allows_nothing(
    app: FastAPI, client: httpx.AsyncClient, consumer: Consumer
) -> None:
    later = datetime.now(UTC) + timedelta(days=2)
    await record(
        client,
        consumer,
        validity={"start": iso(later), "expiry": iso(later + timedelta(days=3))},
    )
    assert await refusal_code(decide(app, consumer)) == "consent_not_active"
    assert (await decide(app, consumer, now=later + timedelta(hours=1))).kind == "consent"
