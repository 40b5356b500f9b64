"""A record type's lifecycle over HTTP: drafts published, versions deprecated, and the
compatibility mode set by an admin, each audited, kept in the database for every instance."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.main import create_app
from tests.helpers.audit_log import log_out_of_reach
from tests.helpers.clients import ApiCredentials, MakeClient

RECORDS = "/v1/dictionary/records"
PHONE = {"name": "phone", "element": "common.phone", "required": False, "cardinality": "0..1"}


async def _person(client: httpx.AsyncClient, version: str = "1.1.0") -> dict[str, Any]:
    """Person ``version`` as a publishable body (no id), with its examples."""
    body: dict[str, Any] = (await client.get(f"{RECORDS}/Person/versions/{version}")).json()
    examples = (await client.get(f"{RECORDS}/Person/versions/{version}/examples")).json()
    body.pop("id")
    body.pop("record_type")
    body["examples"] = {"valid": examples["valid"], "invalid": examples["invalid"]}
    return body


async def _add_draft(
    client: httpx.AsyncClient, admin: ApiCredentials, version: str, fields: list[dict[str, Any]]
) -> None:
    body = {**await _person(client), "version": version, "status": "draft", "fields": fields}
    body["examples"] = {"valid": [], "invalid": []}
    added = await client.post(f"{RECORDS}/Person/versions", headers=admin.headers, json=body)
    assert added.status_code == 201, added.text


async def _events(app: FastAPI, kind: str) -> list[AuditEvent]:
    async with app.state.hub.sessionmaker() as session:
        return list(
            (await session.scalars(select(AuditEvent).where(AuditEvent.kind == kind))).all()
        )


@asynccontextmanager
async def _another_instance(app: FastAPI, **settings: object) -> AsyncIterator[httpx.AsyncClient]:
    """A second hub on the same database, as another instance of the deployment."""
    second = create_app(app.state.settings.model_copy(update=settings))
    async with second.router.lifespan_context(second):
        transport = httpx.ASGITransport(app=second)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as http:
            yield http


async def test_a_draft_is_published_then_deprecated_and_each_step_is_audited(
    app: FastAPI, client: httpx.AsyncClient, admin: ApiCredentials
) -> None:
    base = await _person(client)
    await _add_draft(client, admin, "1.2.0", [*base["fields"], PHONE])
    record = (await client.get(f"{RECORDS}/Person")).json()
    assert {v["version"]: v["status"] for v in record["versions"]}["1.2.0"] == "draft"

    published = await client.post(f"{RECORDS}/Person/versions/1.2.0/publish", headers=admin.headers)
    assert published.status_code == 200, published.text
    assert published.json() | {"id": None} == {
        "record_type": "Person",
        "version": "1.2.0",
        "id": None,
        "status": "published",
        "previous_status": "draft",
        "changed": True,
    }
    listed = {r["name"]: r for r in (await client.get(f"{RECORDS}")).json()}
    assert listed["Person"]["latest"] == "1.2.0"

    deprecated = await client.post(
        f"{RECORDS}/Person/versions/1.1.0/deprecate", headers=admin.headers
    )
    assert deprecated.status_code == 200, deprecated.text
    assert (deprecated.json()["status"], deprecated.json()["previous_status"]) == (
        "deprecated",
        "published",
    )
    served = (await client.get(f"{RECORDS}/Person/versions/1.1.0")).json()
    assert served["status"] == "deprecated"

    events = await _events(app, "admin.dictionary_status_changed")
    assert [(e.record_type, e.details["version"], e.details["to"]) for e in events] == [
        ("Person", "1.2.0", "published"),
        ("Person", "1.1.0", "deprecated"),
    ]
    assert all(e.client_id == admin.client_id for e in events)


async def test_invalid_transitions_are_refused_with_a_stable_code(
    app: FastAPI, client: httpx.AsyncClient, admin: ApiCredentials, make_api_client: MakeClient
) -> None:
    base = await _person(client)
    await _add_draft(client, admin, "1.2.0", [*base["fields"], PHONE])
    draft_deprecated = await client.post(
        f"{RECORDS}/Person/versions/1.2.0/deprecate", headers=admin.headers
    )
    assert draft_deprecated.status_code == 409
    assert draft_deprecated.headers["content-type"].startswith("application/problem+json")
    assert draft_deprecated.json()["code"] == "invalid_status_transition"
    assert draft_deprecated.json()["current_status"] == "draft"
    assert draft_deprecated.json()["requested_status"] == "deprecated"

    assert (
        await client.post(f"{RECORDS}/Person/versions/1.0.0/deprecate", headers=admin.headers)
    ).status_code == 200
    back = await client.post(f"{RECORDS}/Person/versions/1.0.0/publish", headers=admin.headers)
    assert (back.status_code, back.json()["code"]) == (409, "invalid_status_transition")

    again = await client.post(f"{RECORDS}/Person/versions/1.0.0/deprecate", headers=admin.headers)
    assert again.status_code == 200
    assert (again.json()["status"], again.json()["changed"]) == ("deprecated", False)
    assert len(await _events(app, "admin.dictionary_status_changed")) == 1

    cases = [
        (f"{RECORDS}/Person/versions/9.9.9/publish", admin.headers, 404, "unknown_version"),
        (f"{RECORDS}/Unicorn/versions/1.0.0/deprecate", admin.headers, 404, "unknown_record_type"),
        (f"{RECORDS}/Person/versions/1.2.0/publish", {}, 401, None),
        (
            f"{RECORDS}/Person/versions/1.2.0/publish",
            (await make_api_client("consumer")).headers,
            403,
            None,
        ),
    ]
    for url, headers, status, code in cases:
        answer = await client.post(url, headers=headers)
        assert answer.status_code == status, (url, answer.text)
        if code is not None:
            assert answer.json()["code"] == code
    record = (await client.get(f"{RECORDS}/Person")).json()
    assert {v["version"]: v["status"] for v in record["versions"]}["1.2.0"] == "draft"


async def test_validation_against_a_deprecated_version_warns_but_still_validates(
    client: httpx.AsyncClient, admin: ApiCredentials, make_api_client: MakeClient
) -> None:
    consumer = await make_api_client("consumer")
    old = (await client.get(f"{RECORDS}/Person/versions/1.0.0/examples")).json()["valid"][0]
    before = await client.post(
        "/v1/validate/Person", params={"version": "1.0.0"}, headers=consumer.headers, json=old
    )
    assert before.json()["warnings"] == [] and "warning" not in before.headers
    assert (
        await client.post(f"{RECORDS}/Person/versions/1.0.0/deprecate", headers=admin.headers)
    ).status_code == 200

    single = await client.post(
        "/v1/validate/Person", params={"version": "1.0.0"}, headers=consumer.headers, json=old
    )
    assert single.status_code == 200
    assert single.json()["valid"] is True
    assert [w["code"] for w in single.json()["warnings"]] == ["deprecated_version"]
    assert "validate against 1.1.0" in single.json()["warnings"][0]["message"]
    assert single.headers["warning"].startswith('299 declare-once "Person 1.0.0 is deprecated')

    batch = await client.post(
        "/v1/validate/Person/batch",
        params={"version": "1.0.0"},
        headers=consumer.headers,
        json=[old, {}],
    )
    assert (batch.json()["valid"], batch.json()["invalid"]) == (1, 1)
    assert [w["code"] for w in batch.json()["warnings"]] == ["deprecated_version"]
    assert batch.headers["warning"].startswith("299 ")

    ndjson = await client.post(
        "/v1/validate/Person/batch",
        params={"version": "1.0.0"},
        headers={**consumer.headers, "content-type": "application/x-ndjson"},
        content=b'{"x": 1}\n',
    )
    assert ndjson.status_code == 200
    assert ndjson.headers["warning"].startswith("299 ")

    latest = await client.post("/v1/validate/Person", headers=consumer.headers, json=old)
    assert latest.json()["version"] == "1.1.0"
    assert latest.json()["warnings"] == [] and "warning" not in latest.headers


async def test_an_admin_sets_the_compatibility_mode_for_the_next_publish(
    app: FastAPI, client: httpx.AsyncClient, admin: ApiCredentials, make_api_client: MakeClient
) -> None:
    base = await _person(client)
    breaking = {**base, "version": "1.2.0", "examples": {"valid": [], "invalid": []}}
    breaking["fields"] = [f for f in base["fields"] if f["name"] != "ethnicity"]
    url = f"{RECORDS}/Person/versions"
    refused = await client.post(url, headers=admin.headers, json=breaking)
    assert (refused.status_code, refused.json()["code"]) == (409, "incompatible_version")

    mode_url = f"{RECORDS}/Person/compatibility-mode"
    consumer = await make_api_client("consumer")
    assert (
        await client.put(mode_url, headers=consumer.headers, json={"mode": "NONE"})
    ).status_code == 403
    bad = await client.put(mode_url, headers=admin.headers, json={"mode": "SOMETIMES"})
    assert bad.status_code == 422
    unknown = await client.put(
        f"{RECORDS}/Unicorn/compatibility-mode", headers=admin.headers, json={"mode": "NONE"}
    )
    assert (unknown.status_code, unknown.json()["code"]) == (404, "unknown_record_type")

    changed = await client.put(mode_url, headers=admin.headers, json={"mode": "NONE"})
    assert changed.status_code == 200, changed.text
    assert changed.json() == {
        "record_type": "Person",
        "mode": "NONE",
        "previous_mode": "BACKWARD",
        "changed": True,
    }
    assert (await client.get(f"{RECORDS}/Person")).json()["compatibility"] == "NONE"
    same = await client.put(mode_url, headers=admin.headers, json={"mode": "NONE"})
    assert same.json()["changed"] is False
    events = await _events(app, "admin.dictionary_compatibility_changed")
    assert [(e.record_type, e.details) for e in events] == [
        ("Person", {"from": "BACKWARD", "to": "NONE"})
    ]

    accepted = await client.post(url, headers=admin.headers, json=breaking)
    assert accepted.status_code == 201, accepted.text


async def test_a_mode_set_on_one_instance_governs_the_next_publish_on_another(
    app: FastAPI, client: httpx.AsyncClient, admin: ApiCredentials
) -> None:
    base = await _person(client)
    breaking = {**base, "version": "1.2.0", "examples": {"valid": [], "invalid": []}}
    breaking["fields"] = [f for f in base["fields"] if f["name"] != "ethnicity"]
    async with _another_instance(app) as other:
        set_there = await other.put(
            f"{RECORDS}/Person/compatibility-mode", headers=admin.headers, json={"mode": "NONE"}
        )
        assert set_there.status_code == 200
        published_here = await client.post(
            f"{RECORDS}/Person/versions", headers=admin.headers, json=breaking
        )
        assert published_here.status_code == 201, published_here.text
        deprecated_here = await client.post(
            f"{RECORDS}/Person/versions/1.0.0/deprecate", headers=admin.headers
        )
        assert deprecated_here.status_code == 200
        # The other instance sees the deprecation before deciding on its own step.
        refused_there = await other.post(
            f"{RECORDS}/Person/versions/1.0.0/publish", headers=admin.headers
        )
        assert refused_there.json()["code"] == "invalid_status_transition"
    async with _another_instance(app) as restarted:
        record = (await restarted.get(f"{RECORDS}/Person")).json()
    assert record["compatibility"] == "NONE"
    assert {v["version"]: v["status"] for v in record["versions"]} == {
        "1.0.0": "deprecated",
        "1.1.0": "published",
        "1.2.0": "published",
    }


async def test_publishing_a_draft_checks_the_mode_in_force_now(
    app: FastAPI, client: httpx.AsyncClient, admin: ApiCredentials
) -> None:
    mode_url = f"{RECORDS}/Person/compatibility-mode"
    assert (
        await client.put(mode_url, headers=admin.headers, json={"mode": "NONE"})
    ).status_code == 200
    base = await _person(client)
    await _add_draft(
        client, admin, "1.2.0", [f for f in base["fields"] if f["name"] != "ethnicity"]
    )
    assert (
        await client.put(mode_url, headers=admin.headers, json={"mode": "BACKWARD"})
    ).status_code == 200
    refused = await client.post(f"{RECORDS}/Person/versions/1.2.0/publish", headers=admin.headers)
    assert (refused.status_code, refused.json()["code"]) == (409, "incompatible_version")
    assert refused.json()["errors"]
    assert await _events(app, "admin.dictionary_status_changed") == []
    record = (await client.get(f"{RECORDS}/Person")).json()
    assert {v["version"]: v["status"] for v in record["versions"]}["1.2.0"] == "draft"


async def test_a_deprecation_reaches_the_validations_of_another_instance(
    app: FastAPI, client: httpx.AsyncClient, admin: ApiCredentials, make_api_client: MakeClient
) -> None:
    consumer = await make_api_client("consumer")
    old = (await client.get(f"{RECORDS}/Person/versions/1.0.0/examples")).json()["valid"][0]
    # No staleness allowed: the other instance looks at the database on every request.
    async with _another_instance(app, dictionary_refresh_seconds=0.0) as other:
        url = "/v1/validate/Person?version=1.0.0"
        before = await other.post(url, headers=consumer.headers, json=old)
        assert before.json()["warnings"] == []
        assert (
            await client.post(f"{RECORDS}/Person/versions/1.0.0/deprecate", headers=admin.headers)
        ).status_code == 200
        after = await other.post(url, headers=consumer.headers, json=old)
        assert [w["code"] for w in after.json()["warnings"]] == ["deprecated_version"]
        assert (
            await other.put(
                f"{RECORDS}/Person/compatibility-mode", headers=admin.headers, json={"mode": "FULL"}
            )
        ).status_code == 200
    # This instance keeps the default interval; its refresh (as the interval ends) catches up.
    await app.state.hub.dictionary_sync.refresh()
    assert (await client.get(f"{RECORDS}/Person")).json()["compatibility"] == "FULL"


async def test_a_dictionary_change_is_not_kept_when_its_event_cannot_be_written(
    app: FastAPI, client: httpx.AsyncClient, admin: ApiCredentials
) -> None:
    mode = {"mode": "NONE"}
    async with log_out_of_reach(app):
        deprecated = await client.post(
            f"{RECORDS}/Person/versions/1.1.0/deprecate", headers=admin.headers
        )
        moded = await client.put(
            f"{RECORDS}/Person/compatibility-mode", headers=admin.headers, json=mode
        )
    assert [deprecated.status_code, moded.status_code] == [503, 503]
    assert {deprecated.json()["code"], moded.json()["code"]} == {"audit_unavailable"}
    # Neither in this instance's memory nor in the database that another instance reads.
    here = (await client.get(f"{RECORDS}/Person")).json()
    async with _another_instance(app) as other:
        there = (await other.get(f"{RECORDS}/Person")).json()
    for person in (here, there):
        statuses = {v["version"]: v["status"] for v in person["versions"]}
        assert (statuses["1.1.0"], person["compatibility"]) == ("published", "BACKWARD")
