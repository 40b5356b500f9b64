"""Validating records over HTTP: one record, a JSON array, NDJSON streamed in and out."""

from __future__ import annotations

import unicodedata
from typing import Any

import httpx
import orjson
import pytest

from app.config import Settings
from tests.helpers.clients import ApiCredentials, MakeClient


@pytest.fixture
async def consumer(make_api_client: MakeClient) -> ApiCredentials:
    return await make_api_client("consumer")


async def _valid_person(client: httpx.AsyncClient) -> dict[str, Any]:
    latest = (await client.get("/v1/dictionary/records/Person")).json()["versions"][-1]["version"]
    examples = (
        await client.get(f"/v1/dictionary/records/Person/versions/{latest}/examples")
    ).json()
    record: dict[str, Any] = examples["valid"][0]
    return record


async def test_a_valid_person_is_accepted(
    client: httpx.AsyncClient, consumer: ApiCredentials
) -> None:
    person = await _valid_person(client)
    answer = await client.post("/v1/validate/Person", headers=consumer.headers, json=person)
    assert answer.status_code == 200
    assert answer.json()["valid"] is True
    assert answer.json()["errors"] == []


async def test_a_citizen_id_contradicting_the_birth_year_is_rejected_with_the_rule_code(
    client: httpx.AsyncClient, consumer: ApiCredentials
) -> None:
    person = await _valid_person(client)
    year = int(person["date_of_birth"][:4])
    person["date_of_birth"] = f"{year - 3}{person['date_of_birth'][4:]}"
    answer = await client.post("/v1/validate/Person", headers=consumer.headers, json=person)
    body = answer.json()
    assert body["valid"] is False
    assert [e["code"] for e in body["errors"]] == ["rule.citizen_id_matches_birth_year"]
    assert body["errors"][0]["path"].startswith("/")
    assert body["errors"][0]["message"]


async def test_a_name_validates_in_nfc_and_in_nfd(
    client: httpx.AsyncClient, consumer: ApiCredentials
) -> None:
    person = await _valid_person(client)
    for form in ("NFC", "NFD"):
        person["full_name"] = unicodedata.normalize(form, "Nguyễn Thị Ánh")
        answer = await client.post("/v1/validate/Person", headers=consumer.headers, json=person)
        assert answer.json()["valid"] is True, (form, answer.json())


async def test_every_error_is_reported_with_pointer_element_and_code(
    client: httpx.AsyncClient, consumer: ApiCredentials
) -> None:
    person = await _valid_person(client)
    del person["full_name"]
    person["sex"] = "X"
    person["shoe_size"] = 42
    answer = await client.post("/v1/validate/Person", headers=consumer.headers, json=person)
    errors = {(e["code"], e["path"]) for e in answer.json()["errors"]}
    assert ("required", "/full_name") in errors
    assert ("code_not_in_list", "/sex") in errors
    assert ("unknown_field", "/shoe_size") in errors


async def test_codes_are_checked_as_of_a_date(
    client: httpx.AsyncClient, consumer: ApiCredentials
) -> None:
    person = await _valid_person(client)
    person["place_of_birth_province"] = "02"  # Hà Giang: merged into Tuyên Quang in 2025
    before = await client.post(
        "/v1/validate/Person?as_of=2025-06-30", headers=consumer.headers, json=person
    )
    after = await client.post(
        "/v1/validate/Person?as_of=2025-07-01", headers=consumer.headers, json=person
    )
    assert before.json()["valid"] is True, before.json()
    assert [e["code"] for e in after.json()["errors"]] == ["code_not_in_list"]


async def test_bad_validation_requests_get_stable_codes(
    client: httpx.AsyncClient, consumer: ApiCredentials, settings: Settings
) -> None:
    headers = {**consumer.headers, "content-type": "application/json"}
    broken = await client.post("/v1/validate/Person", headers=headers, content=b'{\n"a": }')
    assert (broken.status_code, broken.json()["code"], broken.json()["line"]) == (
        400,
        "malformed_json",
        2,
    )
    unknown = await client.post("/v1/validate/Unicorn", headers=headers, content=b"{}")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "unknown_record_type")
    bad_version = await client.post(
        "/v1/validate/Person?version=0.0.1", headers=headers, content=b"{}"
    )
    assert (bad_version.status_code, bad_version.json()["code"]) == (404, "unknown_version")
    bad_date = await client.post("/v1/validate/Person?as_of=soon", headers=headers, content=b"{}")
    assert (bad_date.status_code, bad_date.json()["code"]) == (400, "invalid_date")
    not_object = await client.post("/v1/validate/Person", headers=headers, content=b"[1]")
    assert not_object.json()["valid"] is False
    assert not_object.json()["errors"][0]["code"] == "type"
    too_big = await client.post(
        "/v1/validate/Person", headers=headers, content=b" " * (settings.max_body_bytes + 1)
    )
    assert (too_big.status_code, too_big.json()["code"]) == (413, "payload_too_large")


async def test_a_json_array_batch_gets_one_summary(
    client: httpx.AsyncClient, consumer: ApiCredentials
) -> None:
    person = await _valid_person(client)
    wrong = {**person, "sex": "X"}
    answer = await client.post(
        "/v1/validate/Person/batch", headers=consumer.headers, json=[person, wrong, person]
    )
    body = answer.json()
    assert (body["total"], body["valid"], body["invalid"]) == (3, 2, 1)
    assert body["results"][1]["errors"][0]["code"] == "code_not_in_list"
    broken = await client.post(
        "/v1/validate/Person/batch",
        headers={**consumer.headers, "content-type": "application/json"},
        content=b"[{},\n{]",
    )
    assert (broken.status_code, broken.json()["code"], broken.json()["line"]) == (
        400,
        "malformed_json",
        2,
    )
    not_array = await client.post("/v1/validate/Person/batch", headers=consumer.headers, json={})
    assert (not_array.status_code, not_array.json()["code"]) == (400, "batch_not_array")


def _ndjson(records: list[Any]) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in records)


async def test_an_ndjson_batch_streams_one_result_line_per_record(
    client: httpx.AsyncClient, consumer: ApiCredentials
) -> None:
    person = await _valid_person(client)
    records = [person] * 2500 + [{**person, "sex": "X"}] + [person] * 10
    headers = {**consumer.headers, "content-type": "application/x-ndjson"}

    async def body() -> Any:
        data = _ndjson(records)
        for start in range(0, len(data), 7000):  # chunk edges fall inside lines
            yield data[start : start + 7000]

    answer = await client.post("/v1/validate/Person/batch", headers=headers, content=body())
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/x-ndjson")
    lines = [orjson.loads(line) for line in answer.content.splitlines()]
    assert [line["line"] for line in lines] == list(range(1, len(records) + 1))
    assert [line["line"] for line in lines if not line["valid"]] == [2501]


async def test_a_malformed_ndjson_line_gets_400_with_its_line_number(
    client: httpx.AsyncClient, consumer: ApiCredentials
) -> None:
    person = await _valid_person(client)
    data = _ndjson([person, person]) + b"{not json}\n" + _ndjson([person])
    answer = await client.post(
        "/v1/validate/Person/batch",
        headers={**consumer.headers, "content-type": "application/x-ndjson"},
        content=data,
    )
    assert answer.status_code == 400
    assert answer.json()["code"] == "malformed_ndjson"
    assert answer.json()["line"] == 3


async def test_a_malformed_line_after_streaming_began_becomes_an_error_line(
    client: httpx.AsyncClient, consumer: ApiCredentials
) -> None:
    person = await _valid_person(client)
    data = _ndjson([person] * 3000) + b"{oops\n" + _ndjson([person])
    answer = await client.post(
        "/v1/validate/Person/batch",
        headers={**consumer.headers, "content-type": "application/x-ndjson"},
        content=data,
    )
    lines = [orjson.loads(line) for line in answer.content.splitlines()]
    assert len(lines) == 3002
    assert lines[3000]["line"] == 3001
    assert lines[3000]["errors"][0]["code"] == "malformed_json"
    assert lines[3001]["valid"] is True


async def test_an_oversized_batch_is_refused_with_413(
    client: httpx.AsyncClient, consumer: ApiCredentials, settings: Settings
) -> None:
    answer = await client.post(
        "/v1/validate/Person/batch",
        headers={**consumer.headers, "content-type": "application/x-ndjson"},
        content=b"{}\n" * (settings.max_batch_body_bytes // 3 + 10),
    )
    assert answer.status_code == 413
    assert answer.json()["code"] == "payload_too_large"
