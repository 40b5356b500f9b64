"""The data path: GET /v1/records/{record_type}/{subject_id}, over real HTTP to the mocks."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI

from app.events import EventKind
from tests.helpers.clients import ApiCredentials, MakeClient
from tests.helpers.sources import audit_events, consumer_for, pull_headers, register

SYSTEM_OF = {
    "Person": "population",
    "Residence": "population",
    "BirthRegistration": "civil-status",
    "MarriageRegistration": "civil-status",
    "LandParcel": "land",
    "Taxpayer": "tax",
}


@pytest.fixture(autouse=True)
def _clean_mocks(mock_servers: Any) -> Any:
    mock_servers.reset()
    yield
    mock_servers.reset()


@pytest.fixture
async def integrator(make_api_client: MakeClient) -> ApiCredentials:
    return await make_api_client("integrator")


@pytest.fixture
def citizen(mock_servers: Any) -> str:
    subject: str = mock_servers.dataset.demo_citizens(1)[0]
    return subject


async def _setup(
    app: FastAPI,
    client: httpx.AsyncClient,
    integrator: ApiCredentials,
    make_api_client: MakeClient,
    mock_servers: Any,
    record_type: str,
    fields: list[str] | None = None,
    **connector: Any,
) -> tuple[dict[str, Any], ApiCredentials]:
    created = await register(client, integrator, mock_servers, SYSTEM_OF[record_type], **connector)
    consumer = await consumer_for(app, make_api_client, {record_type: fields})
    return created, consumer


@pytest.mark.parametrize(
    "record_type", ["Person", "BirthRegistration", "LandParcel", "Taxpayer", "MarriageRegistration"]
)
async def test_a_pull_from_each_system_maps_validates_and_carries_provenance(
    app: FastAPI,
    client: httpx.AsyncClient,
    integrator: ApiCredentials,
    make_api_client: MakeClient,
    mock_servers: Any,
    citizen: str,
    record_type: str,
) -> None:
    created, consumer = await _setup(
        app, client, integrator, make_api_client, mock_servers, record_type
    )
    answer = await client.get(
        f"/v1/records/{record_type}/{citizen}",
        headers={**pull_headers(consumer), "X-Case-Id": "case-42"},
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    dictionary = app.state.hub.dictionary
    version = dictionary.record_type(record_type).latest().version
    validator = dictionary.validator(record_type)
    if body["per_subject"] == "one":
        items = [{"record": body["record"], "provenance": body["provenance"]}]
    else:
        items = body["records"]
        assert items, "the demo citizen has records in all four systems"
    for item in items:
        assert validator.validate(item["record"]) == []
        provenance = item["provenance"]
        assert provenance["source_system"] == SYSTEM_OF[record_type].replace("-", "_")
        assert provenance["connector_id"] == created["id"]
        assert provenance["source_reference"]
        assert provenance["retrieved_at"]
        assert provenance["dictionary_version"] == version
        assert provenance["verified"] is True
        assert "last_updated" in provenance
    assert body["basis"] == {"kind": "legal", "reference": "Decree 278/2025/ND-CP, Art. 12"}
    if record_type == "Person":
        assert body["record"]["citizen_id"] == citizen
        assert body["provenance"]["last_updated"] is not None
    (event,) = [e for e in await audit_events(app, EventKind.DATA_PULL)]
    assert event.outcome == "allowed"
    assert event.record_type == record_type
    assert event.case_id == "case-42"
    assert event.officer_id == "officer-1"
    assert event.purpose == "identity-check"
    assert event.basis == "legal:Decree 278/2025/ND-CP, Art. 12"
    assert citizen not in str(event.details)
    # A party holding the request or the answer can later prove it against the log.
    asked = {
        "record_type": record_type,
        "subject_id": citizen,
        "fields": None,
        "purpose": "identity-check",
        "officer_id": "officer-1",
        "case_id": "case-42",
    }
    canonical = orjson.dumps(asked, option=orjson.OPT_SORT_KEYS)
    assert event.request_hash == hashlib.sha256(canonical).hexdigest()
    returned = [item["record"] for item in items]
    canonical = orjson.dumps(returned, option=orjson.OPT_SORT_KEYS)
    assert event.response_hash == hashlib.sha256(canonical).hexdigest()


async def test_fields_outside_the_access_right_are_never_returned(
    app: FastAPI,
    client: httpx.AsyncClient,
    integrator: ApiCredentials,
    make_api_client: MakeClient,
    mock_servers: Any,
    citizen: str,
) -> None:
    _, consumer = await _setup(
        app,
        client,
        integrator,
        make_api_client,
        mock_servers,
        "Person",
        fields=["citizen_id", "full_name"],
    )
    url = f"/v1/records/Person/{citizen}"
    every_granted = await client.get(url, headers=pull_headers(consumer))
    assert every_granted.status_code == 200
    assert set(every_granted.json()["record"]) == {"citizen_id", "full_name"}
    assert every_granted.json()["fields"] == ["citizen_id", "full_name"]

    narrowed = await client.get(url + "?fields=full_name", headers=pull_headers(consumer))
    assert narrowed.status_code == 200
    assert set(narrowed.json()["record"]) == {"full_name"}

    beyond = await client.get(
        url + "?fields=full_name,date_of_birth,sex", headers=pull_headers(consumer)
    )
    assert beyond.status_code == 403
    assert beyond.json()["code"] == "access_denied"
    assert beyond.json()["missing"] == {"fields": ["date_of_birth", "sex"]}

    unknown = await client.get(url + "?fields=shoe_size", headers=pull_headers(consumer))
    assert unknown.status_code == 400
    assert unknown.json()["code"] == "unknown_field"

    outcomes = [(e.outcome, e.error_code) for e in await audit_events(app, EventKind.DATA_PULL)]
    assert outcomes == [
        ("allowed", None),
        ("allowed", None),
        ("denied", "access_denied"),
        ("invalid_request", "unknown_field"),
    ]


async def test_a_purpose_or_record_type_not_granted_is_denied(
    app: FastAPI,
    client: httpx.AsyncClient,
    integrator: ApiCredentials,
    make_api_client: MakeClient,
    mock_servers: Any,
    citizen: str,
) -> None:
    _, consumer = await _setup(app, client, integrator, make_api_client, mock_servers, "Person")
    wrong_purpose = await client.get(
        f"/v1/records/Person/{citizen}", headers=pull_headers(consumer, purpose="land-transfer")
    )
    assert wrong_purpose.status_code == 403
    assert wrong_purpose.json()["code"] == "access_denied"
    assert wrong_purpose.json()["missing"] == {"purpose": "land-transfer"}
    other_type = await client.get(
        f"/v1/records/Residence/{citizen}", headers=pull_headers(consumer)
    )
    assert other_type.status_code == 403
    assert other_type.json()["missing"] == {"record_type": "Residence"}
    denied = [e for e in await audit_events(app, EventKind.DATA_PULL) if e.outcome == "denied"]
    assert len(denied) == 2
    assert {e.error_code for e in denied} == {"access_denied"}


async def test_a_right_without_a_legal_basis_needs_consent(
    app: FastAPI,
    client: httpx.AsyncClient,
    integrator: ApiCredentials,
    make_api_client: MakeClient,
    mock_servers: Any,
    citizen: str,
) -> None:
    await register(client, integrator, mock_servers, "population")
    consumer = await consumer_for(app, make_api_client, {"Person": None}, legal_basis=None)
    answer = await client.get(f"/v1/records/Person/{citizen}", headers=pull_headers(consumer))
    assert answer.status_code == 403
    assert answer.json()["code"] == "no_basis"


@pytest.mark.parametrize(
    ("headers", "path", "status", "code"),
    [
        ({"X-User-Id": None}, "/v1/records/Person/{s}", 400, "missing_user_id"),
        ({"X-Purpose": None}, "/v1/records/Person/{s}", 400, "missing_purpose"),
        ({"X-Purpose": "Not A Purpose!"}, "/v1/records/Person/{s}", 400, "invalid_header"),
        ({}, "/v1/records/Person/bad%20id", 400, "invalid_subject_id"),
        ({}, "/v1/records/Spaceship/{s}", 404, "unknown_record_type"),
        ({}, "/v1/records/Person/000000000000", 404, "subject_not_found"),
        ({}, "/v1/records/Person/{s}?fields=" + "x" * 2001, 422, "request_invalid"),
    ],
)
async def test_bad_requests_have_stable_codes(
    app: FastAPI,
    client: httpx.AsyncClient,
    integrator: ApiCredentials,
    make_api_client: MakeClient,
    mock_servers: Any,
    citizen: str,
    headers: dict[str, str | None],
    path: str,
    status: int,
    code: str,
) -> None:
    _, consumer = await _setup(app, client, integrator, make_api_client, mock_servers, "Person")
    sent = {k: v for k, v in {**pull_headers(consumer), **headers}.items() if v is not None}
    answer = await client.get(path.format(s=citizen), headers=sent)
    assert answer.status_code == status, answer.text
    assert answer.json()["code"] == code


async def test_no_connector_for_the_record_type_is_no_source(
    app: FastAPI, client: httpx.AsyncClient, make_api_client: MakeClient, citizen: str
) -> None:
    consumer = await consumer_for(app, make_api_client, {"Taxpayer": None})
    answer = await client.get(f"/v1/records/Taxpayer/{citizen}", headers=pull_headers(consumer))
    assert answer.status_code == 503
    assert answer.json()["code"] == "no_source"
    (event,) = await audit_events(app, EventKind.DATA_PULL)
    assert (event.outcome, event.error_code) == ("error", "no_source")


async def test_an_api_key_of_another_role_cannot_pull(
    client: httpx.AsyncClient, make_api_client: MakeClient, citizen: str
) -> None:
    integrator = await make_api_client("integrator")
    answer = await client.get(f"/v1/records/Person/{citizen}", headers=pull_headers(integrator))
    assert answer.status_code == 403
    anonymous = await client.get(f"/v1/records/Person/{citizen}")
    assert anonymous.status_code == 401


async def test_an_oauth2_token_expiring_mid_run_is_renewed(
    app: FastAPI,
    client: httpx.AsyncClient,
    integrator: ApiCredentials,
    make_api_client: MakeClient,
    mock_servers: Any,
    citizen: str,
) -> None:
    _, consumer = await _setup(
        app, client, integrator, make_api_client, mock_servers, "BirthRegistration"
    )
    url = f"/v1/records/BirthRegistration/{citizen}"
    assert (await client.get(url, headers=pull_headers(consumer))).status_code == 200
    mock_servers.expire_tokens("civil-status")
    renewed = await client.get(url, headers=pull_headers(consumer))
    assert renewed.status_code == 200, renewed.text
    assert renewed.json()["record"]["child_citizen_id"] == citizen
