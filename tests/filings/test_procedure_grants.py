"""A filing is authorised by the client's procedure grant as well as the component's basis:
a consumer whose agency does not handle a procedure can neither open nor work its filings."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from app.config import Settings
from tests.helpers.clients import ApiCredentials, MakeClient
from tests.helpers.filings import Portal, grant_procedures
from tests.helpers.sources import audit_events

TRANSFER = "land-use-right-transfer"


def assert_not_granted(answer: httpx.Response, procedure: str = TRANSFER) -> None:
    assert answer.status_code == 403, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["code"] == "procedure_not_granted"
    assert answer.json()["procedure"] == procedure


async def test_a_consumer_without_any_right_cannot_open_a_filing_and_pulls_nothing(
    app: FastAPI,
    client: httpx.AsyncClient,
    make_api_client: MakeClient,
    settings: Settings,
    sources: Any,
) -> None:
    stranger = await make_api_client("consumer", agency="An agency with no rights")
    portal = Portal(client, stranger, settings)
    seller = sources.dataset.demo_citizens(1)[0]
    opened = await client.post(
        "/v1/filings",
        json={"procedure": TRANSFER, "applicant_id": seller},
        headers=portal.headers,
    )
    assert_not_granted(opened)

    # A grant of another procedure is no grant of this one.
    await grant_procedures(app, stranger.client_id, ["birth-registration"])
    again = await client.post(
        "/v1/filings",
        json={"procedure": TRANSFER, "applicant_id": seller},
        headers=portal.headers,
    )
    assert_not_granted(again)
    assert await audit_events(app, "data.pull") == []
    assert await audit_events(app, "filing.changed") == []


async def test_a_removed_grant_refuses_every_filing_request_from_the_next_one(
    app: FastAPI,
    client: httpx.AsyncClient,
    portal: Portal,
    consumer: ApiCredentials,
    admin: ApiCredentials,
) -> None:
    opened = await portal.open(TRANSFER, "001190012345")
    submitted = await portal.open("marital-status-certificate", "001190012345")
    filing = f"/v1/filings/{opened['id']}"
    grants = f"/v1/clients/{consumer.client_id}/procedure-grants"
    removed = await client.put(
        grants, headers=admin.headers, json={"procedures": ["marital-status-certificate"]}
    )
    assert removed.status_code == 200

    headers = portal.headers
    answers = [
        await client.get(filing, headers=headers),
        await client.post(f"{filing}/prefill", headers=headers),
        await client.patch(
            filing,
            json={"dossier": {"transfer_declaration": {"contract_number": "HD-1"}}},
            headers=headers,
        ),
        await client.post(f"{filing}/submit", json={"confirm": True}, headers=headers),
        await client.post(
            f"{filing}/decision", json={"decision": "rejected", "reason": "x"}, headers=headers
        ),
        await client.post(
            f"{filing}/corrections",
            json={"field": "/land_certificate/area_m2", "claimed_value": 1},
            headers=headers,
        ),
        await client.patch(
            f"{filing}/corrections/00000000-0000-0000-0000-000000000000",
            json={"status": "forwarded"},
            headers=headers,
        ),
    ]
    for answer in answers:
        assert_not_granted(answer)
    assert [e.filing_id for e in await audit_events(app, "data.pull")] == []
    # The procedure still granted is unaffected.
    assert (await portal.get(submitted["id"]))["status"] == "draft"

    restored = await client.put(grants, headers=admin.headers, json={"procedures": [TRANSFER]})
    assert restored.status_code == 200
    assert (await portal.get(opened["id"]))["status"] == "draft"
    assert_not_granted(
        await client.get(f"/v1/filings/{submitted['id']}", headers=headers),
        "marital-status-certificate",
    )


async def test_another_clients_filing_is_still_not_found_not_forbidden(
    client: httpx.AsyncClient, portal: Portal, make_api_client: MakeClient
) -> None:
    opened = await portal.open(TRANSFER, "001190012345")
    other = await make_api_client("consumer")
    answer = await client.get(
        f"/v1/filings/{opened['id']}", headers={**other.headers, "X-User-Id": "officer-9"}
    )
    assert answer.status_code == 404
    assert answer.json()["code"] == "filing_not_found"
