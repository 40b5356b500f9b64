"""A citizen's access log: every use of their data, and only theirs."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
from fastapi import FastAPI

from app.config import Settings
from app.events import AuditEntry, EventKind, Outcome
from app.security.citizen import issue_citizen_token
from tests.helpers.clients import MakeClient

CITIZEN_A = "001090012345"
CITIZEN_B = "079185000123"
JUSTICE = "Sở Tư pháp Hà Nội"
TAX = "Cục Thuế"


def _use(subject: str | None, kind: str = EventKind.DATA_PULL, **kwargs: Any) -> AuditEntry:
    values: dict[str, Any] = {
        "outcome": Outcome.ALLOWED,
        "client_id": "client-justice",
        "agency": JUSTICE,
        "officer_id": "officer-secret-7",
        "case_id": "case-1",
        "record_type": "Person",
        "fields": ["full_name"],
        "purpose": "birth-registration",
        **kwargs,
    }
    return AuditEntry(kind=kind, subject_id=subject, **values)


async def _seed(app: FastAPI) -> dict[str, int]:
    entries = {
        "a_pull": _use(
            CITIZEN_A,
            fields=["full_name", "birth_date"],
            procedure="birth-registration",
            basis="legal:Decree 278/2025/ND-CP, Art. 12",
        ),
        "b_pull": _use(CITIZEN_B, agency=TAX, purpose="tax-check"),
        "a_prefill": _use(
            CITIZEN_A,
            EventKind.FILING_PREFILL,
            record_type="Household",
            fields=["household_id"],
            procedure="birth-registration",
            filing_id="filing-0001",
            basis="consent:consent-42",
        ),
        "admin": _use(None, EventKind.KEY_ISSUED, outcome=Outcome.OK),
        "a_denied": _use(
            CITIZEN_A,
            agency=TAX,
            record_type="TaxProfile",
            fields=["tax_code"],
            purpose="tax-check",
            outcome=Outcome.DENIED,
            error_code="no_basis",
        ),
        "b_prefill": _use(CITIZEN_B, EventKind.FILING_PREFILL, record_type="Household"),
    }
    return {label: await app.state.hub.audit.append(entry) for label, entry in entries.items()}


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _log(client: httpx.AsyncClient, token: str, **params: str) -> dict[str, Any]:
    answer = await client.get("/v1/me/access-log", params=params, headers=_bearer(token))
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def test_a_citizens_access_log_is_complete_and_only_theirs(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, make_api_client: MakeClient
) -> None:
    seq = await _seed(app)
    # An auditor searching for citizen A is no use of A's data; it stays out of A's log.
    auditor = await make_api_client("auditor")
    searched = await client.get(
        "/v1/audit/events", params={"subject_id": CITIZEN_A}, headers=auditor.headers
    )
    assert searched.status_code == 200

    token_a = issue_citizen_token(settings, CITIZEN_A)
    log_a = await _log(client, token_a)
    assert [item["event_id"] for item in log_a["items"]] == [
        seq["a_denied"],
        seq["a_prefill"],
        seq["a_pull"],
    ]
    assert log_a["next_cursor"] is None
    denied, prefill, pull = log_a["items"]
    assert pull["agency"] == JUSTICE
    assert pull["kind"] == "data.pull"
    assert pull["record_type"] == "Person"
    assert pull["fields"] == ["full_name", "birth_date"]
    assert pull["purpose"] == "birth-registration"
    assert pull["procedure"] == "birth-registration"
    assert pull["legal_basis"] == "Decree 278/2025/ND-CP, Art. 12"
    assert pull["consent_id"] is None
    assert pull["outcome"] == "allowed"
    assert pull["at"].endswith("Z") or pull["at"].endswith("+00:00")
    assert prefill["kind"] == "filing.prefill"
    assert prefill["filing_id"] == "filing-0001"
    assert prefill["consent_id"] == "consent-42"
    assert prefill["legal_basis"] is None
    assert denied["agency"] == TAX
    assert denied["outcome"] == "denied"
    assert denied["error_code"] == "no_basis"
    for item in log_a["items"]:
        assert "officer_id" not in item and "case_id" not in item
    text = orjson.dumps(log_a).decode()
    assert "officer-secret-7" not in text
    assert app.state.hub.audit.subject_hmac(CITIZEN_A) not in text

    log_b = await _log(client, issue_citizen_token(settings, CITIZEN_B))
    assert [item["event_id"] for item in log_b["items"]] == [seq["b_prefill"], seq["b_pull"]]

    stranger = await _log(client, issue_citizen_token(settings, "001099999999"))
    assert stranger == {"items": [], "next_cursor": None}


async def test_the_access_log_pages_with_a_cursor_bound_to_its_citizen(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    seq = await _seed(app)
    token_a, token_b = (
        issue_citizen_token(settings, CITIZEN_A),
        issue_citizen_token(settings, CITIZEN_B),
    )
    first = await _log(client, token_a, limit="2", order="asc")
    assert [i["event_id"] for i in first["items"]] == [seq["a_pull"], seq["a_prefill"]]
    cursor = first["next_cursor"]
    assert cursor
    await app.state.hub.audit.append(_use(CITIZEN_A, purpose="appended-later"))
    second = await _log(client, token_a, limit="2", order="asc", cursor=cursor)
    assert [i["purpose"] for i in second["items"]] == ["tax-check", "appended-later"]

    stolen = await client.get(
        "/v1/me/access-log", params={"cursor": cursor, "order": "asc"}, headers=_bearer(token_b)
    )
    assert stolen.status_code == 400
    assert stolen.json()["code"] == "invalid_cursor"
    for params, code in (
        ({"limit": "0"}, "invalid_limit"),
        ({"limit": "5000"}, "invalid_limit"),
        ({"order": "random"}, "invalid_order"),
        ({"cursor": "%%%"}, "invalid_cursor"),
    ):
        answer = await client.get("/v1/me/access-log", params=params, headers=_bearer(token_a))
        assert answer.status_code == 400, params
        assert answer.json()["code"] == code


async def test_the_access_log_needs_a_citizen_token(
    client: httpx.AsyncClient, make_api_client: MakeClient
) -> None:
    anonymous = await client.get("/v1/me/access-log")
    assert anonymous.status_code == 401
    assert anonymous.json()["code"] == "unauthenticated"
    for role in ("auditor", "consumer", "admin"):
        key = await make_api_client(role)
        answer = await client.get("/v1/me/access-log", headers=key.headers)
        assert answer.status_code == 403
        assert answer.json()["code"] == "wrong_principal"
    forged = await client.get("/v1/me/access-log", headers=_bearer("aaa.bbb.ccc"))
    assert forged.status_code == 401
    assert forged.json()["code"] == "invalid_citizen_token"
