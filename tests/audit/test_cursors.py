"""Cursors are signed by the hub: a forged, altered or transplanted cursor is
``400 invalid_cursor``, never a 500 and never a page of someone else's log."""

from __future__ import annotations

import base64

import httpx
import orjson
import pytest
from fastapi import FastAPI

from app.config import Settings
from app.cursors import MAX_POSITION, CursorCodec, InvalidCursor
from app.events import AuditEntry, EventKind, Outcome
from app.security.citizen import issue_citizen_token
from tests.helpers.clients import MakeClient

CITIZEN = "001090012345"
OTHER_CITIZEN = "001090054321"
HUGE = 2**63


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unsigned(position: int) -> str:
    """A cursor of the old, unsigned form: base64url JSON anyone could write."""
    return _b64(orjson.dumps({"v": 1, "s": position, "f": "0" * 16}))


async def _seed(app: FastAPI, count: int = 3, subject_id: str = CITIZEN) -> None:
    for _ in range(count):
        await app.state.hub.audit.append(
            AuditEntry(
                kind=EventKind.DATA_PULL,
                outcome=Outcome.ALLOWED,
                client_id="client-1",
                subject_id=subject_id,
                record_type="Person",
                fields=["full_name"],
                purpose="identity-check",
            )
        )


def _forgeries(app: FastAPI, issued: str) -> list[str]:
    payload, _, tag = issued.partition(".")
    body = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    huge = _b64(orjson.dumps({**body, "s": HUGE}))
    # The hub's own codec signing an out-of-range position: verified, still refused.
    codec: CursorCodec = app.state.hub.audit.cursors
    return [
        huge,  # the issued cursor's own fields with a position past 64 bits, unsigned
        _unsigned(HUGE),
        _unsigned(1),
        f"{huge}.{tag}",
        f"{payload}.{_b64(b'x' * 16)}",
        f"{payload}.",
        f"{payload}.{tag}x",
        "." * 3,
        "é" * 10,
        issued + "=" * 600,
        codec.encode("any", {"s": -1}),
    ]


async def test_a_forged_cursor_on_the_citizen_access_log_is_invalid_cursor(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    await _seed(app)
    headers = {"Authorization": f"Bearer {issue_citizen_token(settings, CITIZEN)}"}
    first = await client.get("/v1/me/access-log", params={"limit": "1"}, headers=headers)
    assert first.status_code == 200, first.text
    issued = first.json()["next_cursor"]
    assert issued
    for forged in _forgeries(app, issued):
        answer = await client.get(
            "/v1/me/access-log", params={"limit": "1", "cursor": forged}, headers=headers
        )
        assert answer.status_code == 400, (forged, answer.text)
        assert answer.json()["code"] == "invalid_cursor"
    again = await client.get(
        "/v1/me/access-log", params={"limit": "1", "cursor": issued}, headers=headers
    )
    assert again.status_code == 200


async def test_a_forged_cursor_on_the_auditor_search_is_invalid_cursor(
    app: FastAPI, client: httpx.AsyncClient, make_api_client: MakeClient
) -> None:
    await _seed(app)
    auditor = await make_api_client("auditor")
    first = await client.get(
        "/v1/audit/events", params={"limit": "1", "kind": "data.pull"}, headers=auditor.headers
    )
    assert first.status_code == 200, first.text
    issued = first.json()["next_cursor"]
    assert issued
    for forged in _forgeries(app, issued):
        answer = await client.get(
            "/v1/audit/events",
            params={"limit": "1", "kind": "data.pull", "cursor": forged},
            headers=auditor.headers,
        )
        assert answer.status_code == 400, (forged, answer.text)
        assert answer.json()["code"] == "invalid_cursor"


def test_a_cursor_verifies_only_for_its_scope_and_key() -> None:
    codec = CursorCodec.derived_from(b"k" * 32)
    cursor = codec.encode("events:abc", {"s": MAX_POSITION})
    assert codec.decode("events:abc", cursor, ("s",)) == {"s": MAX_POSITION}
    for scope, other in (
        ("events:abd", codec),
        ("events:abc", CursorCodec.derived_from(b"j" * 32)),
    ):
        with pytest.raises(InvalidCursor):
            other.decode(scope, cursor, ("s",))
    with pytest.raises(InvalidCursor):
        codec.decode("events:abc", cursor, ("s", "t"))
    for bad in (MAX_POSITION + 1, -1, True, 1.5, "1"):
        with pytest.raises(InvalidCursor):
            codec.decode("x", codec.encode("x", {"s": bad}), ("s",))  # type: ignore[dict-item]


async def test_a_cursor_is_refused_by_another_query_citizen_or_route(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, make_api_client: MakeClient
) -> None:
    await _seed(app)
    await _seed(app, 1, OTHER_CITIZEN)
    auditor = await make_api_client("auditor")
    citizen = {"Authorization": f"Bearer {issue_citizen_token(settings, CITIZEN)}"}
    other = {"Authorization": f"Bearer {issue_citizen_token(settings, OTHER_CITIZEN)}"}
    page = {"limit": "1"}
    search = {**page, "kind": "data.pull"}
    by_auditor = await client.get("/v1/audit/events", params=search, headers=auditor.headers)
    by_citizen = await client.get("/v1/me/access-log", params=page, headers=citizen)
    issued_search = by_auditor.json()["next_cursor"]
    issued_log = by_citizen.json()["next_cursor"]
    assert issued_search and issued_log
    for path, params, headers in (
        ("/v1/me/access-log", {**page, "cursor": issued_search}, citizen),
        ("/v1/me/access-log", {**page, "cursor": issued_log}, other),
        ("/v1/audit/events", {**search, "cursor": issued_log}, auditor.headers),
        ("/v1/audit/events", {**page, "cursor": issued_search}, auditor.headers),
        ("/v1/audit/events", {**search, "order": "asc", "cursor": issued_search}, auditor.headers),
    ):
        answer = await client.get(path, params=params, headers=headers)
        assert (answer.status_code, answer.json()["code"]) == (400, "invalid_cursor"), (
            path,
            params,
        )
