"""A filing's change and its ``filing.changed`` event (app/filings/events.py): the event is
recorded before the change is written, so a change whose event cannot be written is not
kept and the client is told (503 ``audit_unavailable``)."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from tests.helpers.audit_log import log_out_of_reach
from tests.helpers.filings import Portal
from tests.helpers.sources import audit_events

MOTHER = "001190012345"


async def test_a_filing_is_not_opened_when_its_event_cannot_be_written(
    portal: Portal, client: httpx.AsyncClient, citizen_headers: Any, app: FastAPI
) -> None:
    async with log_out_of_reach(app):
        answer = await client.post(
            "/v1/filings",
            json={"procedure": "birth-registration", "applicant_id": MOTHER},
            headers=portal.headers,
        )
    assert answer.status_code == 503
    assert answer.json()["code"] == "audit_unavailable"
    listed = await client.get("/v1/me/filings", headers=citizen_headers(MOTHER))
    assert listed.json() == []


async def test_a_dossier_edit_is_not_kept_when_its_event_cannot_be_written(
    portal: Portal, app: FastAPI
) -> None:
    opened = await portal.open("marital-status-certificate", MOTHER)
    async with log_out_of_reach(app):
        answer = await portal.patch(opened["id"], {"certificate_request": {"purpose": "Kết hôn"}})
    assert answer.status_code == 503
    assert answer.json()["code"] == "audit_unavailable"
    assert (await portal.get(opened["id"]))["dossier"] == {}
    changes = [e for e in await audit_events(app, "filing.changed") if e.filing_id == opened["id"]]
    assert [e.details["action"] for e in changes] == ["opened"]
