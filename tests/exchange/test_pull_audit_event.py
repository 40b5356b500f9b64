"""What a pull writes to the access log: only names the dictionary knows. A record-type
segment, a field name, a subject or a header that is anything else is left out of the sealed
log (a citizen ID typed in the wrong place must not be kept forever), and the refusal is an
``invalid_request`` event that says only how much it left out."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.audit.models import AuditEvent
from app.events import EventKind
from tests.helpers.clients import ApiCredentials, MakeClient
from tests.helpers.sources import audit_events, consumer_for, pull_headers, register

STRAY_ID = "079185000123"  # a citizen ID sent where a name belongs


@pytest.fixture
async def consumer(
    app: FastAPI, client: httpx.AsyncClient, make_api_client: MakeClient, mock_servers: Any
) -> ApiCredentials:
    mock_servers.reset()
    integrator = await make_api_client("integrator")
    await register(client, integrator, mock_servers, "population")
    return await consumer_for(app, make_api_client, {"Person": None})


@pytest.fixture
def citizen(mock_servers: Any) -> str:
    subject: str = mock_servers.dataset.demo_citizens(1)[0]
    return subject


def _stored_text(event: AuditEvent) -> str:
    columns = AuditEvent.__table__.columns
    return " ".join(repr(getattr(event, c.key)) for c in columns)


async def _only_pull_event(app: FastAPI) -> AuditEvent:
    (event,) = await audit_events(app, EventKind.DATA_PULL)
    return event


@pytest.mark.parametrize(
    ("path", "status", "code", "left_out"),
    [
        ("/v1/records/{stray}/{citizen}", 404, "unknown_record_type", {"record_type": True}),
        ("/v1/records/Person/{citizen}?fields=full_name,{stray}", 400, "unknown_field", None),
        ("/v1/records/Person{stray}/{citizen}?fields={stray}", 404, "unknown_record_type", None),
        ("/v1/records/Person/{citizen}%20{stray}", 400, "invalid_subject_id", None),
        ("/v1/records/Person%20{stray}/{citizen}", 404, "unknown_record_type", None),
        ("/v1/records/Person/{citizen}?fields=full_name%C2%A0{stray}", 400, "unknown_field", None),
    ],
)
async def test_a_refused_pull_keeps_no_text_the_dictionary_does_not_name(
    app: FastAPI,
    client: httpx.AsyncClient,
    consumer: ApiCredentials,
    citizen: str,
    path: str,
    status: int,
    code: str,
    left_out: dict[str, Any] | None,
) -> None:
    answer = await client.get(
        path.format(stray=STRAY_ID, citizen=citizen), headers=pull_headers(consumer)
    )
    assert (answer.status_code, answer.json()["code"]) == (status, code), answer.text
    event = await _only_pull_event(app)
    assert (event.outcome, event.error_code) == ("invalid_request", code)
    assert STRAY_ID not in _stored_text(event)
    assert event.record_type in (None, "Person")
    assert set(event.fields) <= {"full_name"}
    assert event.details["not_recorded"]
    if left_out is not None:
        assert event.details["not_recorded"] == left_out


async def test_unknown_field_names_are_counted_and_known_ones_kept(
    app: FastAPI, client: httpx.AsyncClient, consumer: ApiCredentials, citizen: str
) -> None:
    answer = await client.get(
        f"/v1/records/Person/{citizen}?fields=full_name,{STRAY_ID},sex,x{STRAY_ID}",
        headers=pull_headers(consumer),
    )
    assert answer.json()["code"] == "unknown_field"
    event = await _only_pull_event(app)
    assert event.record_type == "Person"
    assert event.fields == ["full_name", "sex"]
    assert event.details == {"not_recorded": {"fields": 2}}


async def test_a_malformed_subject_or_header_is_not_recorded(
    app: FastAPI, client: httpx.AsyncClient, consumer: ApiCredentials, citizen: str
) -> None:
    bad_subject = await client.get(
        f"/v1/records/Person/{STRAY_ID}%20{STRAY_ID}", headers=pull_headers(consumer)
    )
    assert bad_subject.json()["code"] == "invalid_subject_id"
    bad_purpose = await client.get(
        f"/v1/records/Person/{citizen}", headers=pull_headers(consumer, purpose=f"ID {STRAY_ID}")
    )
    assert bad_purpose.json()["code"] == "invalid_header"
    subject_event, purpose_event = await audit_events(app, EventKind.DATA_PULL)
    assert subject_event.subject_hmac is None and subject_event.subject_hint is None
    assert subject_event.details == {"not_recorded": {"subject_id": True}}
    assert purpose_event.purpose is None
    assert purpose_event.details == {"not_recorded": {"purpose": True}}
    for event in (subject_event, purpose_event):
        assert event.outcome == "invalid_request"
        assert STRAY_ID not in _stored_text(event)


async def test_a_pull_denied_by_its_access_right_keeps_its_record_type_and_fields(
    app: FastAPI, client: httpx.AsyncClient, consumer: ApiCredentials, citizen: str
) -> None:
    answer = await client.get(
        f"/v1/records/Residence/{citizen}?fields=address_line", headers=pull_headers(consumer)
    )
    assert answer.json()["code"] == "access_denied"
    event = await _only_pull_event(app)
    assert (event.outcome, event.record_type, event.fields) == (
        "denied",
        "Residence",
        ["address_line"],
    )
    assert "not_recorded" not in event.details
