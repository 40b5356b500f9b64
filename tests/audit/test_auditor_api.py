"""The auditor API: search, cursor pagination, export, statistics; and auditors are audited."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from app.audit import query
from app.audit.errors import AuditUnavailable
from app.audit.models import AuditEvent
from app.audit.query import export as export_module
from app.audit.serialize import canonical_json, event_record
from app.events import AuditEntry, EventKind, Outcome
from app.security.citizen import issue_citizen_token
from app.security.roles import Role
from tests.helpers.clients import ApiCredentials, MakeClient

CITIZEN_A = "001090012345"
CITIZEN_B = "079185000123"
CLIENT_JUSTICE = "client-justice-hanoi"
CLIENT_TAX = "client-tax-department"
CLIENT_ADMIN = "client-admin-console"
AGENCY_JUSTICE = "Sở Tư pháp Hà Nội"
AGENCY_TAX = "Cục Thuế"


def _entries() -> dict[str, AuditEntry]:
    """The seeded log, by label; appended in this order."""
    return {
        "pull_a": AuditEntry(
            kind=EventKind.DATA_PULL,
            outcome=Outcome.ALLOWED,
            client_id=CLIENT_JUSTICE,
            agency=AGENCY_JUSTICE,
            officer_id="officer-1",
            case_id="case-77",
            subject_id=CITIZEN_A,
            record_type="Person",
            fields=["full_name", "birth_date"],
            purpose="birth-registration",
            procedure="birth-registration",
            basis="legal:Decree 278/2025/ND-CP, Art. 12",
            request_id="req-pull-a-0001",
        ),
        "denied_b": AuditEntry(
            kind=EventKind.DATA_PULL,
            outcome=Outcome.DENIED,
            client_id=CLIENT_TAX,
            agency=AGENCY_TAX,
            officer_id="officer-2",
            subject_id=CITIZEN_B,
            record_type="TaxProfile",
            fields=["tax_code"],
            purpose="tax-check",
            error_code="no_basis",
        ),
        "prefill_a": AuditEntry(
            kind=EventKind.FILING_PREFILL,
            outcome=Outcome.ALLOWED,
            client_id=CLIENT_JUSTICE,
            agency=AGENCY_JUSTICE,
            officer_id="officer-1",
            subject_id=CITIZEN_A,
            record_type="Household",
            fields=["household_id", "members"],
            purpose="portal-filing",
            procedure="birth-registration",
            filing_id="filing-0001",
            basis="consent:consent-42",
        ),
        "admin": AuditEntry(
            kind=EventKind.KEY_ISSUED,
            outcome=Outcome.OK,
            client_id=CLIENT_ADMIN,
            agency="Hub operations",
            officer_id="admin-9",
            details={"client": CLIENT_TAX, "key_prefix": "doh_abc"},
        ),
        "timeout_a": AuditEntry(
            kind=EventKind.DATA_PULL,
            outcome=Outcome.ERROR,
            client_id=CLIENT_TAX,
            agency=AGENCY_TAX,
            officer_id="officer-2",
            subject_id=CITIZEN_A,
            record_type="LandParcel",
            fields=["parcel_id"],
            purpose="tax-check",
            error_code="source_timeout",
        ),
    }


async def _seed(app: FastAPI) -> dict[str, int]:
    return {label: await app.state.hub.audit.append(e) for label, e in _entries().items()}


@pytest.fixture
async def auditor(make_api_client: MakeClient) -> ApiCredentials:
    return await make_api_client("auditor", agency="State Audit Office")


async def _search(
    client: httpx.AsyncClient, auditor: ApiCredentials, **params: Any
) -> dict[str, Any]:
    answer = await client.get("/v1/audit/events", params=params, headers=auditor.headers)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _seqs(body: dict[str, Any], *, without_queries: bool = True) -> set[int]:
    return {
        item["seq"]
        for item in body["items"]
        if not (without_queries and item["kind"] == EventKind.AUDIT_QUERY)
    }


async def test_each_filter_narrows_the_search_to_its_events(
    app: FastAPI, client: httpx.AsyncClient, auditor: ApiCredentials
) -> None:
    seq = await _seed(app)
    cases: list[tuple[dict[str, str], set[str]]] = [
        ({}, set(seq)),
        ({"subject_id": CITIZEN_A}, {"pull_a", "prefill_a", "timeout_a"}),
        ({"subject_id": CITIZEN_B}, {"denied_b"}),
        ({"client_id": CLIENT_JUSTICE}, {"pull_a", "prefill_a"}),
        ({"agency": AGENCY_TAX}, {"denied_b", "timeout_a"}),
        ({"officer_id": "officer-2"}, {"denied_b", "timeout_a"}),
        ({"case_id": "case-77"}, {"pull_a"}),
        ({"record_type": "Household"}, {"prefill_a"}),
        ({"purpose": "birth-registration"}, {"pull_a", "prefill_a"}),
        ({"purpose": "portal-filing"}, {"prefill_a"}),
        ({"procedure": "birth-registration"}, {"pull_a", "prefill_a"}),
        ({"filing_id": "filing-0001"}, {"prefill_a"}),
        ({"outcome": "denied"}, {"denied_b"}),
        ({"outcome": "allowed"}, {"pull_a", "prefill_a"}),
        ({"error_code": "source_timeout"}, {"timeout_a"}),
        ({"kind": "filing.prefill"}, {"prefill_a"}),
        ({"kind": "admin.key_issued"}, {"admin"}),
        ({"request_id": "req-pull-a-0001"}, {"pull_a"}),
        ({"subject_id": CITIZEN_A, "client_id": CLIENT_TAX}, {"timeout_a"}),
        ({"subject_id": CITIZEN_A, "outcome": "denied"}, set()),
        ({"client_id": "nobody"}, set()),
    ]
    for params, labels in cases:
        body = await _search(client, auditor, **params)
        assert _seqs(body) == {seq[label] for label in labels}, params
        assert body["next_cursor"] is None

    # since is inclusive and until exclusive, on the times the log recorded.
    everything = await _search(client, auditor, kind=EventKind.DATA_PULL, order="asc")
    times = {item["seq"]: datetime.fromisoformat(item["ts"]) for item in everything["items"]}
    middle = times[seq["denied_b"]]
    after = await _search(client, auditor, kind=EventKind.DATA_PULL, since=middle.isoformat())
    assert _seqs(after) == {s for s, t in times.items() if t >= middle}
    before = await _search(client, auditor, kind=EventKind.DATA_PULL, until=middle.isoformat())
    assert _seqs(before) == {s for s, t in times.items() if t < middle}
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    assert (await _search(client, auditor, since=tomorrow))["items"] == []
    assert _seqs(await _search(client, auditor, until=tomorrow)) == set(seq.values())


async def test_a_subject_search_finds_the_citizen_and_never_shows_the_id(
    app: FastAPI, client: httpx.AsyncClient, auditor: ApiCredentials
) -> None:
    seq = await _seed(app)
    answer = await client.get(
        "/v1/audit/events", params={"subject_id": CITIZEN_A}, headers=auditor.headers
    )
    assert answer.status_code == 200
    assert CITIZEN_A not in answer.text
    items = answer.json()["items"]
    assert [i["seq"] for i in items] == [seq["timeout_a"], seq["prefill_a"], seq["pull_a"]]
    key = app.state.hub.audit.subject_hmac(CITIZEN_A)
    assert {i["subject_hmac"] for i in items} == {key}
    assert {i["subject_hint"] for i in items} == {"0010******45"}
    pulled = items[-1]
    assert pulled["fields"] == ["full_name", "birth_date"]
    assert pulled["basis"] == "legal:Decree 278/2025/ND-CP, Art. 12"

    # The same search by header or by HMAC gives the same events.
    by_header = await client.get(
        "/v1/audit/events", headers={**auditor.headers, "X-Subject-Id": CITIZEN_A}
    )
    by_hmac = await _search(client, auditor, subject_hmac=key.upper())
    assert _seqs(by_header.json()) == _seqs(by_hmac) == {i["seq"] for i in items}

    # Neither the answers nor anything the log now holds carries the clear ID.
    async with app.state.hub.sessionmaker() as session:
        rows = (await session.execute(select(AuditEvent))).scalars().all()
    stored = orjson.dumps([{c: getattr(r, c) for c in query.COLUMNS} for r in rows]).decode()
    assert CITIZEN_A not in stored and CITIZEN_B not in stored


async def test_the_cursor_pages_through_everything_while_events_are_appended(
    app: FastAPI, client: httpx.AsyncClient, auditor: ApiCredentials
) -> None:
    def pull(n: int) -> AuditEntry:
        return AuditEntry(
            kind=EventKind.DATA_PULL,
            outcome=Outcome.ALLOWED,
            client_id=CLIENT_JUSTICE,
            subject_id=f"0010900{n:05d}",
            record_type="Person",
            fields=["full_name"],
        )

    for n in range(23):
        await app.state.hub.audit.append(pull(n))

    for order in ("desc", "asc"):
        async with app.state.hub.sessionmaker() as session:
            existing = {
                s
                for (s,) in await session.execute(
                    select(AuditEvent.seq).where(AuditEvent.kind == EventKind.DATA_PULL)
                )
            }
        served: list[int] = []
        cursor: str | None = None
        pages = 0
        while True:
            params = {"kind": EventKind.DATA_PULL, "limit": "5", "order": order}
            if cursor:
                params["cursor"] = cursor
            body = await _search(client, auditor, **params)
            assert len(body["items"]) <= 5
            served.extend(item["seq"] for item in body["items"])
            cursor = body["next_cursor"]
            if cursor is None:
                break
            pages += 1
            if pages <= 3:  # appends land between pages
                await app.state.hub.audit.append(pull(100 + pages))
                await app.state.hub.audit.append(pull(200 + pages))
        assert len(served) == len(set(served)), "an event was served twice"
        if order == "desc":
            assert served == sorted(served, reverse=True)
            # newest first: the events that existed at the first page, no gap, no newcomer
            assert set(served) == existing
        else:
            assert served == sorted(served)
            async with app.state.hub.sessionmaker() as session:
                now = {
                    s
                    for (s,) in await session.execute(
                        select(AuditEvent.seq).where(AuditEvent.kind == EventKind.DATA_PULL)
                    )
                }
            # oldest first: the newcomers arrive at the end, so everything is served
            assert set(served) == now
            assert len(now) > len(existing)


BAD_INPUT: list[tuple[str, dict[str, str], str]] = [
    ("/v1/audit/events", {"since": "yesterday"}, "invalid_datetime"),
    ("/v1/audit/events", {"until": "2026-13-01"}, "invalid_datetime"),
    ("/v1/audit/events", {"since": "2026-11-02", "until": "2026-11-01"}, "invalid_time_range"),
    ("/v1/audit/events", {"limit": "0"}, "invalid_limit"),
    ("/v1/audit/events", {"limit": "1001"}, "invalid_limit"),
    ("/v1/audit/events", {"limit": "ten"}, "invalid_limit"),
    ("/v1/audit/events", {"limit": "-5"}, "invalid_limit"),
    ("/v1/audit/events", {"cursor": "not-a-cursor"}, "invalid_cursor"),
    ("/v1/audit/events", {"cursor": "eyJ2IjoxfQ"}, "invalid_cursor"),
    ("/v1/audit/events", {"order": "sideways"}, "invalid_order"),
    ("/v1/audit/events", {"subject_hmac": "abc"}, "invalid_subject_hmac"),
    (
        "/v1/audit/events",
        {"subject_id": CITIZEN_A, "subject_hmac": "0" * 64},
        "conflicting_subject_filters",
    ),
    ("/v1/audit/export", {"format": "xml"}, "unknown_export_format"),
    ("/v1/audit/export", {"since": "2026-11-25T25:00"}, "invalid_datetime"),
    ("/v1/audit/export", {"order": "up"}, "invalid_order"),
    ("/v1/audit/stats", {"until": "soon"}, "invalid_datetime"),
]


async def test_bad_input_is_refused_with_a_stable_code(
    client: httpx.AsyncClient, auditor: ApiCredentials
) -> None:
    for path, params, code in BAD_INPUT:
        answer = await client.get(path, params=params, headers=auditor.headers)
        assert answer.status_code == 400, (path, params, answer.text)
        assert answer.json()["code"] == code, (path, params)
    logged = await client.get(
        "/v1/audit/events", params={"kind": EventKind.AUDIT_QUERY}, headers=auditor.headers
    )
    assert logged.json()["items"] == []  # a refused query reads nothing and logs nothing


async def test_a_cursor_only_continues_the_query_that_issued_it(
    app: FastAPI, client: httpx.AsyncClient, auditor: ApiCredentials
) -> None:
    await _seed(app)
    first = await _search(client, auditor, limit="1", outcome="allowed")
    cursor = first["next_cursor"]
    assert cursor
    for other in ({"outcome": "denied"}, {"outcome": "allowed", "order": "asc"}):
        answer = await client.get(
            "/v1/audit/events", params={**other, "cursor": cursor}, headers=auditor.headers
        )
        assert answer.status_code == 400
        assert answer.json()["code"] == "invalid_cursor"
    more = await _search(client, auditor, limit="1", outcome="allowed", cursor=cursor)
    assert len(more["items"]) == 1


async def _export(
    client: httpx.AsyncClient, auditor: ApiCredentials, **params: str
) -> httpx.Response:
    answer = await client.get("/v1/audit/export", params=params, headers=auditor.headers)
    assert answer.status_code == 200, answer.text
    return answer


async def test_the_export_streams_jsonl_and_csv_matching_the_filtered_set(
    app: FastAPI,
    client: httpx.AsyncClient,
    auditor: ApiCredentials,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seq = await _seed(app)
    # several keyset pages for five events
    monkeypatch.setattr(export_module, "EXPORT_PAGE_SIZE", 2)

    jsonl = await _export(client, auditor)
    assert jsonl.headers["content-type"].startswith("application/x-ndjson")
    lines = [orjson.loads(line) for line in jsonl.content.splitlines()]
    assert [line["seq"] for line in lines] == sorted(seq.values())
    assert jsonl.headers["x-audit-export-upto"] == str(max(seq.values()))
    assert lines[0]["fields"] == ["full_name", "birth_date"]
    assert lines[0]["ts"].endswith("Z")
    assert CITIZEN_A not in jsonl.text
    # Each line is the log core's serialisation of the stored event (the verifier's bytes).
    async with app.state.hub.sessionmaker() as session:
        stored = (
            await session.execute(
                select(AuditEvent.__table__)
                .where(AuditEvent.seq <= max(seq.values()))  # not the export's own event
                .order_by(AuditEvent.seq)
            )
        ).mappings()
        for line, row in zip(jsonl.content.splitlines(), stored, strict=True):
            parsed = orjson.loads(line)
            assert parsed.pop("type") == "event"
            parsed.pop("leaf_index")  # the sealer may have placed the event since
            assert canonical_json(parsed) == canonical_json(event_record(row))

    filtered = await _export(client, auditor, subject_id=CITIZEN_A, order="desc")
    got = [orjson.loads(line)["seq"] for line in filtered.content.splitlines()]
    assert got == [seq["timeout_a"], seq["prefill_a"], seq["pull_a"]]

    as_csv = await _export(client, auditor, format="csv", client_id=CLIENT_JUSTICE)
    assert as_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(as_csv.text)))
    assert rows[0] == list(query.COLUMNS)
    records = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    assert [int(r["seq"]) for r in records] == [seq["pull_a"], seq["prefill_a"]]
    assert records[0]["fields"] == "full_name;birth_date"
    assert records[1]["basis"] == "consent:consent-42"
    assert records[0]["subject_hmac"] == app.state.hub.audit.subject_hmac(CITIZEN_A)
    assert CITIZEN_A not in as_csv.text

    admin_csv = await _export(client, auditor, format="csv", kind=EventKind.KEY_ISSUED)
    (admin_row,) = list(csv.DictReader(io.StringIO(admin_csv.text)))
    assert orjson.loads(admin_row["details"]) == {"client": CLIENT_TAX, "key_prefix": "doh_abc"}

    empty = await _export(client, auditor, format="csv", client_id="nobody")
    assert list(csv.reader(io.StringIO(empty.text))) == [list(query.COLUMNS)]


async def test_the_export_with_seals_is_the_whole_log_in_the_verifiers_format(
    app: FastAPI, client: httpx.AsyncClient, auditor: ApiCredentials
) -> None:
    seq = await _seed(app)
    answer = await _export(client, auditor, with_seals="true")
    lines = [orjson.loads(line) for line in answer.content.splitlines()]
    assert lines[0]["type"] == "header"
    assert {line["type"] for line in lines[1:]} <= {"event", "seal"}
    events = [line for line in lines if line["type"] == "event"]
    # the whole log as it stands when read: the seeded events and the export's own event
    assert sorted(e["seq"] for e in events if e["kind"] != EventKind.AUDIT_QUERY) == sorted(
        seq.values()
    )
    assert [e["details"]["action"] for e in events if e["kind"] == EventKind.AUDIT_QUERY] == [
        "export"
    ]
    for params in ({"client_id": CLIENT_TAX}, {"format": "csv"}, {"order": "desc"}):
        refused = await client.get(
            "/v1/audit/export", params={**params, "with_seals": "true"}, headers=auditor.headers
        )
        assert refused.status_code == 400
        assert refused.json()["code"] == "unverifiable_export"


async def test_csv_cells_that_a_spreadsheet_would_run_are_made_text(
    app: FastAPI, client: httpx.AsyncClient, auditor: ApiCredentials
) -> None:
    await app.state.hub.audit.append(
        AuditEntry(kind=EventKind.DATA_PULL, outcome=Outcome.DENIED, officer_id="=HYPERLINK(1)")
    )
    answer = await _export(client, auditor, format="csv", kind=EventKind.DATA_PULL)
    (row,) = list(csv.DictReader(io.StringIO(answer.text)))
    assert row["officer_id"] == "'=HYPERLINK(1)"


async def test_stats_count_by_client_record_type_outcome_day_and_denials(
    app: FastAPI, client: httpx.AsyncClient, auditor: ApiCredentials
) -> None:
    await _seed(app)
    answer = await client.get("/v1/audit/stats", headers=auditor.headers)
    assert answer.status_code == 200, answer.text
    stats = answer.json()
    assert stats["total"] == 5
    assert {(c["client_id"], c["agency"], c["count"]) for c in stats["by_client"]} == {
        (CLIENT_JUSTICE, AGENCY_JUSTICE, 2),
        (CLIENT_TAX, AGENCY_TAX, 2),
        (CLIENT_ADMIN, "Hub operations", 1),
    }
    assert {(r["record_type"], r["count"]) for r in stats["by_record_type"]} == {
        ("Person", 1),
        ("TaxProfile", 1),
        ("Household", 1),
        ("LandParcel", 1),
    }
    assert {(o["outcome"], o["count"]) for o in stats["by_outcome"]} == {
        ("allowed", 2),
        ("denied", 1),
        ("error", 1),
        ("ok", 1),
    }
    assert {(k["kind"], k["count"]) for k in stats["by_kind"]} == {
        ("data.pull", 3),
        ("filing.prefill", 1),
        ("admin.key_issued", 1),
    }
    async with app.state.hub.sessionmaker() as session:
        days = [
            (ts if ts.tzinfo else ts.replace(tzinfo=UTC)).astimezone(UTC).date().isoformat()
            for ts in await session.scalars(
                select(AuditEvent.ts).where(AuditEvent.kind != EventKind.AUDIT_QUERY)
            )
        ]
    assert stats["by_day"] == [{"day": d, "count": days.count(d)} for d in sorted(set(days))]
    assert stats["denials"] == {
        "total": 1,
        "by_error_code": [{"error_code": "no_basis", "count": 1}],
        "by_client": [{"client_id": CLIENT_TAX, "agency": AGENCY_TAX, "count": 1}],
    }

    # The stats query above is itself an event now; a window in the future holds nothing.
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    later = await client.get("/v1/audit/stats", params={"since": tomorrow}, headers=auditor.headers)
    assert later.json()["total"] == 0
    assert later.json()["by_day"] == []
    assert later.json()["since"].startswith(tomorrow)
    narrowed = await client.get(
        "/v1/audit/stats", params={"client_id": CLIENT_TAX}, headers=auditor.headers
    )
    assert narrowed.json()["total"] == 2


async def test_every_auditor_query_is_itself_logged(
    app: FastAPI, client: httpx.AsyncClient, auditor: ApiCredentials
) -> None:
    await _seed(app)
    key = app.state.hub.audit.subject_hmac(CITIZEN_A)
    headers = {**auditor.headers, "X-User-Id": "inspector-5", "X-Case-Id": "inq-2026-1"}
    searched = await client.get(
        "/v1/audit/events",
        params={"subject_id": CITIZEN_A, "client_id": CLIENT_TAX, "since": "2026-01-01"},
        headers=headers,
    )
    assert searched.status_code == 200
    await _export(client, auditor, format="csv", outcome="denied")
    too_long = {**auditor.headers, "X-User-Id": "x" * 300}
    refused = await client.get("/v1/audit/stats", headers=too_long)
    # An officer the log cannot hold is refused before the query runs (and is not logged).
    assert (refused.status_code, refused.json()["code"]) == (400, "invalid_header")
    stats = await client.get("/v1/audit/stats", headers=auditor.headers)
    assert stats.status_code == 200

    logged = await _search(client, auditor, kind=EventKind.AUDIT_QUERY, order="asc")
    search_event, export_event, stats_event = logged["items"][:3]
    assert search_event["client_id"] == auditor.client_id
    assert search_event["agency"] == "State Audit Office"
    assert search_event["officer_id"] == "inspector-5"
    assert search_event["case_id"] == "inq-2026-1"
    assert search_event["outcome"] == "ok"
    assert search_event["request_id"] == searched.headers["x-request-id"]
    assert search_event["details"]["action"] == "events"
    assert search_event["details"]["filters"] == {
        "subject_hmac": key,
        # Not of the hub's own client id form: recorded as its keyed hash, never in clear.
        "client_id": "hmac:" + app.state.hub.audit.subject_hmac(CLIENT_TAX),
        "since": "2026-01-01T00:00:00+00:00",
    }
    assert search_event["details"]["returned"] == 1
    assert search_event["subject_hmac"] is None  # the search is no use of the citizen's data
    assert export_event["details"]["action"] == "export"
    assert export_event["details"]["format"] == "csv"
    assert export_event["details"]["filters"] == {"outcome": "denied"}
    assert stats_event["details"]["action"] == "stats"
    assert stats_event["officer_id"] is None
    assert CITIZEN_A not in orjson.dumps(logged).decode()


async def test_only_the_auditor_role_passes_the_auditor_routes(
    client: httpx.AsyncClient, make_api_client: MakeClient, settings: Any
) -> None:
    citizen_token = issue_citizen_token(settings, CITIZEN_A)
    callers = {role: await make_api_client(role.value) for role in Role}
    for path in ("/v1/audit/events", "/v1/audit/export", "/v1/audit/stats"):
        anonymous = await client.get(path, params={"since": "not-a-date"})
        assert anonymous.status_code == 401  # who asks is checked before what is asked
        assert anonymous.json()["code"] == "unauthenticated"
        as_citizen = await client.get(path, headers={"Authorization": f"Bearer {citizen_token}"})
        assert as_citizen.status_code == 403
        assert as_citizen.json()["code"] == "wrong_principal"
        for role, caller in callers.items():
            answer = await client.get(path, headers=caller.headers)
            if role is Role.auditor:
                assert answer.status_code == 200, answer.text
            else:
                assert answer.status_code == 403, (role, path)
                assert answer.json()["code"] == "role_required"


async def test_no_answer_leaves_when_the_auditor_query_cannot_be_logged(
    app: FastAPI,
    client: httpx.AsyncClient,
    auditor: ApiCredentials,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await _seed(app)

    async def unavailable(entry: AuditEntry) -> int:
        raise AuditUnavailable("The access log cannot be written; no data is released.")

    monkeypatch.setattr(app.state.hub.audit, "append", unavailable)
    for path in ("/v1/audit/events", "/v1/audit/export", "/v1/audit/stats"):
        answer = await client.get(path, params={"subject_id": CITIZEN_A}, headers=auditor.headers)
        assert answer.status_code == 503, path
        assert answer.json()["code"] == "audit_unavailable"
        assert "0010******45" not in answer.text
