"""The national dictionary over HTTP: browse, code lists as of a date, publish versions."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.registry.models import PublishedRecordVersion
from tests.helpers.clients import ApiCredentials, MakeClient


async def test_elements_codelists_and_records_are_browsable_without_a_key(
    client: httpx.AsyncClient,
) -> None:
    elements = (await client.get("/v1/dictionary/elements")).json()
    assert len(elements) >= 60
    citizen_id = (await client.get("/v1/dictionary/elements/person.citizen_id")).json()
    assert citizen_id["format"] == "citizen_id"
    assert citizen_id["definition_vi"] and citizen_id["definition_en"]
    only_person = (
        await client.get("/v1/dictionary/elements", params={"namespace": "person"})
    ).json()
    assert only_person and all(e["id"].startswith("person.") for e in only_person)
    records = {r["name"]: r for r in (await client.get("/v1/dictionary/records")).json()}
    assert {"Person", "BirthRegistration", "LandParcel", "Taxpayer"} <= set(records)
    person = (await client.get("/v1/dictionary/records/Person")).json()
    assert person["compatibility"] == "BACKWARD"
    latest = records["Person"]["latest"]
    version = (await client.get(f"/v1/dictionary/records/Person/versions/{latest}")).json()
    assert version["id"].startswith("sha256:")
    assert any(f["name"] == "citizen_id" for f in version["fields"])
    assert len((await client.get("/v1/dictionary/codelists")).json()) >= 8


async def test_the_province_list_depends_on_the_date(client: httpx.AsyncClient) -> None:
    before = await client.get("/v1/dictionary/codelists/province", params={"as_of": "2025-06-30"})
    after = await client.get("/v1/dictionary/codelists/province", params={"as_of": "2025-07-01"})
    assert before.status_code == after.status_code == 200
    assert len(before.json()["entries"]) == 63
    assert len(after.json()["entries"]) == 34
    codes_after = {e["code"] for e in after.json()["entries"]}
    assert "02" not in codes_after and "08" in codes_after


async def test_the_crosswalk_maps_an_old_province_to_the_new_one(client: httpx.AsyncClient) -> None:
    ha_giang = await client.get(
        "/v1/dictionary/codelists/province/crosswalk", params={"code": "02"}
    )
    assert ha_giang.status_code == 200, ha_giang.text
    assert [m["code"] for m in ha_giang.json()["maps_to"]] == ["08"]
    bac_giang = await client.get(
        "/v1/dictionary/codelists/province/crosswalk", params={"code": "24"}
    )
    assert [m["code"] for m in bac_giang.json()["maps_to"]] == ["24"]
    assert "Bắc Ninh" in bac_giang.json()["maps_to"][0]["label_vi"]
    unknown = await client.get("/v1/dictionary/codelists/province/crosswalk", params={"code": "99"})
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "unknown_code"


async def test_bad_dictionary_requests_get_stable_codes(client: httpx.AsyncClient) -> None:
    cases = [
        ("/v1/dictionary/elements/person.nope", 404, "unknown_element"),
        ("/v1/dictionary/codelists/nope", 404, "unknown_codelist"),
        ("/v1/dictionary/codelists/province?as_of=yesterday", 400, "invalid_date"),
        ("/v1/dictionary/codelists/province?as_of=1900-01-01", 404, "codelist_not_in_force"),
        ("/v1/dictionary/records/Unicorn", 404, "unknown_record_type"),
        ("/v1/dictionary/records/Person/versions/9.9.9", 404, "unknown_version"),
        ("/v1/dictionary/records/Person/versions/9.9.9/json-schema", 404, "unknown_version"),
        ("/v1/dictionary/codelists/province/crosswalk?code=02&to=1999", 404, "unknown_version"),
        ("/v1/dictionary/codelists/province/crosswalk?from=2025&to=2008", 400, "invalid_crosswalk"),
    ]
    for url, status, code in cases:
        answer = await client.get(url)
        assert (answer.status_code, answer.json()["code"]) == (status, code), url


async def test_every_record_version_serves_its_json_schema_and_examples(
    client: httpx.AsyncClient,
) -> None:
    for record in (await client.get("/v1/dictionary/records")).json():
        for version in record["versions"]:
            base = f"/v1/dictionary/records/{record['name']}/versions/{version['version']}"
            schema = (await client.get(f"{base}/json-schema")).json()
            assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
            assert schema["additionalProperties"] is False
            examples = (await client.get(f"{base}/examples")).json()
            assert examples["valid"] and examples["invalid"], record["name"]


async def _person_version(client: httpx.AsyncClient) -> dict[str, Any]:
    latest = (await client.get("/v1/dictionary/records/Person")).json()["versions"][-1]
    version: dict[str, Any] = (
        await client.get(f"/v1/dictionary/records/Person/versions/{latest['version']}")
    ).json()
    examples = (
        await client.get(f"/v1/dictionary/records/Person/versions/{latest['version']}/examples")
    ).json()
    version.pop("id")
    version.pop("record_type")
    version["examples"] = {"valid": examples["valid"], "invalid": examples["invalid"]}
    return version


def _bump(version: dict[str, Any], minor: int) -> str:
    major, old_minor, _patch = (int(p) for p in version["version"].split(".")[:3])
    return f"{major}.{old_minor + minor}.0"


async def test_publishing_checks_compatibility_and_is_idempotent(
    app: FastAPI, client: httpx.AsyncClient, admin: ApiCredentials
) -> None:
    base = await _person_version(client)
    breaking = {**base, "version": _bump(base, 1)}
    breaking["fields"] = [f for f in base["fields"] if f["name"] != "ethnicity"] + [
        {"name": "phone", "element": "common.phone", "required": True, "cardinality": "1..1"}
    ]
    breaking["examples"] = {"valid": [], "invalid": []}
    dry = await client.post(
        "/v1/dictionary/records/Person/compatibility", headers=admin.headers, json=breaking
    )
    assert dry.status_code == 200, dry.text
    assert dry.json()["compatible"] is False
    kinds = {v["kind"] for v in dry.json()["violations"]}
    assert len(kinds) >= 2, dry.json()
    refused = await client.post(
        "/v1/dictionary/records/Person/versions", headers=admin.headers, json=breaking
    )
    assert refused.status_code == 409
    assert refused.json()["code"] == "incompatible_version"
    assert len(refused.json()["errors"]) == len(dry.json()["violations"])

    compatible = {**base, "version": _bump(base, 1)}
    compatible["fields"] = [
        *base["fields"],
        {"name": "phone", "element": "common.phone", "required": False, "cardinality": "0..1"},
    ]
    first = await client.post(
        "/v1/dictionary/records/Person/versions", headers=admin.headers, json=compatible
    )
    assert first.status_code == 201, first.text
    assert first.json()["created"] is True
    again = await client.post(
        "/v1/dictionary/records/Person/versions", headers=admin.headers, json=compatible
    )
    assert again.json() == {**first.json(), "created": False}
    other_content = {**compatible, "fields": base["fields"]}
    clash = await client.post(
        "/v1/dictionary/records/Person/versions", headers=admin.headers, json=other_content
    )
    assert clash.status_code == 409
    assert clash.json()["code"] == "version_conflict"

    async with app.state.hub.sessionmaker() as session:
        rows = (await session.scalars(select(PublishedRecordVersion))).all()
        events = (
            await session.scalars(
                select(AuditEvent).where(AuditEvent.kind == "admin.dictionary_published")
            )
        ).all()
    assert [(r.record_type, r.version) for r in rows] == [("Person", compatible["version"])]
    assert len(events) == 1
    served = await client.get(f"/v1/dictionary/records/Person/versions/{compatible['version']}")
    assert served.status_code == 200


async def test_a_published_version_survives_a_restart(
    settings: object, client: httpx.AsyncClient, admin: ApiCredentials, app: FastAPI
) -> None:
    base = await _person_version(client)
    compatible = {**base, "version": _bump(base, 2)}
    compatible["fields"] = [
        *base["fields"],
        {"name": "phone", "element": "common.phone", "required": False, "cardinality": "0..1"},
    ]
    published = await client.post(
        "/v1/dictionary/records/Person/versions", headers=admin.headers, json=compatible
    )
    assert published.status_code == 201, published.text
    from app.main import create_app

    second = create_app(app.state.settings)
    async with second.router.lifespan_context(second):
        transport = httpx.ASGITransport(app=second)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as http:
            record = (await http.get("/v1/dictionary/records/Person")).json()
    assert compatible["version"] in [v["version"] for v in record["versions"]]


async def test_malformed_publications_are_refused(
    client: httpx.AsyncClient, admin: ApiCredentials, make_api_client: MakeClient
) -> None:
    url = "/v1/dictionary/records/Person/versions"
    not_json = await client.post(
        url, headers={**admin.headers, "content-type": "application/json"}, content=b"{"
    )
    assert (not_json.status_code, not_json.json()["code"]) == (400, "malformed_json")
    array = await client.post(url, headers=admin.headers, json=[1, 2])
    assert (array.status_code, array.json()["code"]) == (400, "body_not_object")
    nonsense = await client.post(url, headers=admin.headers, json={"version": "one"})
    assert (nonsense.status_code, nonsense.json()["code"]) == (422, "invalid_record_version")
    dangling = await client.post(
        url,
        headers=admin.headers,
        json={
            "version": "9.0.0",
            "fields": [{"name": "x", "element": "person.nothing", "required": False}],
        },
    )
    assert (dangling.status_code, dangling.json()["code"]) == (422, "invalid_record_version")
    unknown = await client.post(
        "/v1/dictionary/records/Unicorn/versions", headers=admin.headers, json={"version": "1.0.0"}
    )
    assert unknown.status_code == 404
    consumer = await make_api_client("consumer")
    denied = await client.post(url, headers=consumer.headers, json={})
    assert denied.status_code == 403
