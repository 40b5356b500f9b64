"""The filings API's refusals: bad input on every endpoint, illegal transitions, isolation.

No source is registered here, so a prefill finds every component unreachable and falls
back to the applicant: the flow still works, which is the point of the fallback.
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.helpers.clients import MakeClient
from tests.helpers.filings import Portal, plan_of

MOTHER = "001190012345"
FATHER = "001088054321"
OTHER = "079199000321"
# Everything a marital-status certificate needs, typed: what an applicant faces with no source.
TYPED_MARITAL_STATUS_DOSSIER: dict[str, Any] = {
    "certificate_request": {"purpose": "Kết hôn"},
    "requester_identity": {
        "citizen_id": MOTHER,
        "full_name": "Trần Thị Bình",
        "date_of_birth": "1990-04-02",
        "marital_status": "SINGLE",
    },
    "requester_residence": {
        "residence_type": "PERMANENT",
        "address_line": "12 Phố Huế, Hai Bà Trưng",
        "province_code": "01",
    },
}


def _codes(answer: httpx.Response) -> set[tuple[str, str]]:
    return {(e["path"], e["code"]) for e in answer.json().get("errors") or []}


async def test_opening_gives_the_plan_of_every_component(portal: Portal) -> None:
    filing = await portal.open("marital-status-certificate", MOTHER)
    assert filing["status"] == "draft"
    plan = plan_of(filing)
    assert plan["certificate_request"]["action"] == "applicant_supplies"
    assert plan["requester_identity"]["action"] == "pull_legal_basis"
    assert plan["requester_identity"]["subject"]["citizen_id"] == MOTHER
    residence = plan["requester_residence"]
    assert residence["action"] == "pull_with_consent"
    assert residence["consent"]["state"] == "missing"
    assert residence["fields"] == ["residence_type", "address_line", "province_code"]
    assert filing["declare_once"]["fields_prefilled"] == 0


async def test_a_consent_turns_the_plan_from_missing_to_present(portal: Portal) -> None:
    filing = await portal.open("marital-status-certificate", MOTHER)
    await portal.consent(
        MOTHER,
        "marital-status-certificate",
        "Residence",
        ["residence_type", "address_line", "province_code"],
    )
    seen = await portal.get(filing["id"])
    consent = plan_of(seen)["requester_residence"]["consent"]
    assert consent["state"] == "present"
    assert consent["consent_id"]
    again = await portal.get(filing["id"])  # the check is read-only: no use is spent
    assert plan_of(again)["requester_residence"]["consent"]["state"] == "present"


async def test_a_subject_named_by_a_field_waits_for_that_field(portal: Portal) -> None:
    filing = await portal.open("birth-registration", MOTHER)
    assert plan_of(filing)["mother_identity"]["subject"] == {
        "role": "mother",
        "from_field": "birth_declaration.mother_citizen_id",
        "citizen_id": None,
    }
    filled = await portal.fill(filing["id"], {"birth_declaration": {"mother_citizen_id": MOTHER}})
    assert plan_of(filled)["mother_identity"]["subject"]["citizen_id"] == MOTHER
    prefilled = await portal.prefill(filing["id"])
    father = plan_of(prefilled)["father_identity"]
    assert father["status"] == "failed"
    assert father["error"]["code"] == "subject_unknown"
    assert father["fallback"] == "applicant_supplies"


async def test_opening_refuses_bad_input(portal: Portal, client: httpx.AsyncClient) -> None:
    unknown = await client.post(
        "/v1/filings", json={"procedure": "nope", "applicant_id": MOTHER}, headers=portal.headers
    )
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "unknown_procedure"
    bad_id = await client.post(
        "/v1/filings",
        json={"procedure": "birth-registration", "applicant_id": "12345"},
        headers=portal.headers,
    )
    assert bad_id.status_code == 422
    assert bad_id.json()["code"] == "invalid_citizen_id"
    assert _codes(bad_id) == {("/applicant_id", "format.citizen_id")}
    bad_behalf = await client.post(
        "/v1/filings",
        json={"procedure": "birth-registration", "applicant_id": MOTHER, "on_behalf_of": "x"},
        headers=portal.headers,
    )
    assert bad_behalf.json()["code"] == "invalid_citizen_id"
    extra = await client.post(
        "/v1/filings",
        json={"procedure": "birth-registration", "applicant_id": MOTHER, "colour": "red"},
        headers=portal.headers,
    )
    assert extra.status_code == 422
    assert extra.json()["code"] == "request_invalid"
    no_officer = await client.post(
        "/v1/filings",
        json={"procedure": "birth-registration", "applicant_id": MOTHER},
        headers=portal.consumer.headers,
    )
    assert no_officer.status_code == 400
    assert no_officer.json()["code"] == "missing_user_id"
    for bad in ({"X-User-Id": "x" * 201}, {"X-User-Id": "officer\tseven"}, {"X-Case-Id": ""}):
        refused = await client.post(
            "/v1/filings",
            json={"procedure": "birth-registration", "applicant_id": MOTHER},
            headers={**portal.headers, **bad},
        )
        assert refused.status_code == 400, bad
        assert refused.json()["code"] == "invalid_header"


async def test_patch_gives_precise_errors(portal: Portal) -> None:
    filing = await portal.open("death-registration", MOTHER)
    answer = await portal.patch(
        filing["id"],
        {
            "death_declaration": {
                "place_of_death_province": "X",
                "date_of_death": "2026-02-30",
                "deceased_citizen_id": "12",
                "shoe_size": 40,
            },
            "no_such_component": {"a": 1},
        },
    )
    assert answer.status_code == 422
    assert answer.json()["code"] == "validation_failed"
    assert _codes(answer) == {
        ("/death_declaration/shoe_size", "unknown_field"),
        ("/no_such_component", "unknown_component"),
    }
    answer = await portal.patch(
        filing["id"],
        {
            "death_declaration": {
                "place_of_death_province": "X",
                "date_of_death": "2026-02-30",
                "deceased_citizen_id": "12",
            }
        },
    )
    assert answer.status_code == 422
    codes = _codes(answer)
    assert ("/death_declaration/place_of_death_province", "code_not_in_list") in codes
    assert ("/death_declaration/date_of_death", "format.date") in codes
    assert any(p == "/death_declaration/deceased_citizen_id" for p, _ in codes)
    unchanged = await portal.get(filing["id"])
    assert unchanged["dossier"] == {}
    not_an_object = await portal.patch(filing["id"], {"death_declaration": "x"})
    assert _codes(not_an_object) == {("/death_declaration", "type")}
    filled = await portal.fill(
        filing["id"], {"death_declaration": {"place_of_death_province": "01"}}
    )
    assert filled["dossier"] == {"death_declaration": {"place_of_death_province": "01"}}
    assert filled["typed_fields"] == ["/death_declaration/place_of_death_province"]
    assert filled["declare_once"]["fields_typed"] == 1
    cleared = await portal.fill(
        filing["id"], {"death_declaration": {"place_of_death_province": None}}
    )
    assert cleared["dossier"] == {}
    assert cleared["declare_once"]["fields_typed"] == 0


async def test_the_state_machine_refuses_illegal_transitions(portal: Portal) -> None:
    filing = await portal.open("marital-status-certificate", MOTHER)
    filing_id = filing["id"]
    early = await portal.submit(filing_id)
    assert early.status_code == 409
    assert early.json()["code"] == "illegal_filing_transition"
    undecidable = await portal.decide(filing_id)
    assert undecidable.status_code == 409
    assert undecidable.json()["code"] == "illegal_filing_transition"
    await portal.prefill(filing_id)
    again = await portal.prefill(filing_id)  # prefill may run again before submission
    assert again["status"] == "prefilled"
    not_confirmed = await portal.submit(filing_id, confirm=False)
    assert not_confirmed.status_code == 422
    assert not_confirmed.json()["code"] == "confirmation_required"
    incomplete = await portal.submit(filing_id)
    assert incomplete.status_code == 422
    assert incomplete.json()["code"] == "dossier_invalid"
    paths = {e["path"] for e in incomplete.json()["errors"]}
    assert {
        "/certificate_request/purpose",
        "/requester_identity/citizen_id",
        "/requester_identity/full_name",
        "/requester_residence/address_line",
    } <= paths
    assert not any(p.startswith("/marriage_history") for p in paths)  # optional and empty
    await portal.fill(filing_id, TYPED_MARITAL_STATUS_DOSSIER)
    submitted = await portal.submit(filing_id)
    assert submitted.status_code == 200, submitted.text
    assert submitted.json()["status"] == "submitted"
    counts = submitted.json()["declare_once"]
    assert counts["fields_typed"] == 8
    assert counts["components_supplied"] == 3
    for answer in (
        await portal.patch(filing_id, {"certificate_request": {"purpose": "Khác"}}),
        await portal.http.post(f"/v1/filings/{filing_id}/prefill", headers=portal.headers),
    ):
        assert answer.status_code == 409
        assert answer.json()["code"] == "illegal_filing_transition"
    rejected = await portal.decide(filing_id, "rejected", reason="Residence not confirmed.")
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["status"] == "rejected"
    assert rejected.json()["result"] is None
    twice = await portal.decide(filing_id, "approved")
    assert twice.status_code == 409
    assert twice.json()["code"] == "illegal_filing_transition"


async def test_bad_decisions_and_corrections_are_refused(portal: Portal) -> None:
    filing = await portal.open("marital-status-certificate", MOTHER)
    filing_id = filing["id"]
    await portal.prefill(filing_id)
    await portal.fill(filing_id, TYPED_MARITAL_STATUS_DOSSIER)
    typed = await portal.http.post(
        f"/v1/filings/{filing_id}/corrections",
        json={"field": "/requester_identity/full_name", "claimed_value": "Trần Thị Bính"},
        headers=portal.headers,
    )
    assert typed.status_code == 422
    assert typed.json()["code"] == "field_not_state_held"
    assert (await portal.submit(filing_id)).status_code == 200
    bad_enum = await portal.http.post(
        f"/v1/filings/{filing_id}/decision",
        json={"decision": "maybe", "reason": "x"},
        headers=portal.headers,
    )
    assert bad_enum.status_code == 422
    assert bad_enum.json()["code"] == "request_invalid"
    no_result = await portal.decide(filing_id, "approved")
    assert no_result.status_code == 422
    assert no_result.json()["code"] == "result_invalid"
    assert ("/certificate_number", "required") in _codes(no_result)
    bad_result = await portal.decide(
        filing_id,
        "approved",
        result={
            "certificate_number": "XN-2026/0099",
            "issued_date": "2026-11-24",
            "issuing_province": "99",
            "valid_until": "2026-01-01",
        },
    )
    assert bad_result.status_code == 422
    codes = _codes(bad_result)
    assert ("/issuing_province", "code_not_in_list") in codes
    good = await portal.decide(
        filing_id,
        "approved",
        result={
            "certificate_number": "XN-2026/0099",
            "issued_date": "2026-11-24",
            "issuing_province": "01",
            "valid_until": "2027-05-24",
        },
    )
    assert good.status_code == 200, good.text
    result = good.json()["result"]
    assert result["record_type"] == "MaritalStatusCertificate"
    assert result["subject_id"] == MOTHER
    assert result["record"]["purpose"] == "Kết hôn"


async def test_another_consumer_cannot_see_or_touch_the_filing(
    portal: Portal, client: httpx.AsyncClient, make_api_client: MakeClient
) -> None:
    filing = await portal.open("birth-registration", MOTHER)
    stranger = await make_api_client("consumer", agency="Another commune")
    headers = {**stranger.headers, "X-User-Id": "officer-9"}
    base = f"/v1/filings/{filing['id']}"
    requests: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", base, None),
        ("PATCH", base, {"dossier": {}}),
        ("POST", base + "/prefill", None),
        ("POST", base + "/submit", {"confirm": True}),
        ("POST", base + "/decision", {"decision": "approved", "reason": "x"}),
        ("POST", base + "/corrections", {"field": "/a/b", "claimed_value": 1}),
    ]
    for method, url, body in requests:
        answer = await client.request(method, url, json=body, headers=headers)
        assert answer.status_code == 404, (method, url, answer.text)
        assert answer.json()["code"] == "filing_not_found"
    missing = await client.get("/v1/filings/not-a-filing", headers=portal.headers)
    assert missing.status_code == 404


async def test_a_citizen_sees_only_their_own_filings(
    portal: Portal, client: httpx.AsyncClient, citizen_headers: Any
) -> None:
    mine = await portal.open("birth-registration", MOTHER)
    await portal.open("death-registration", OTHER)
    listed = await client.get("/v1/me/filings", headers=citizen_headers(MOTHER))
    assert listed.status_code == 200
    assert [f["id"] for f in listed.json()] == [mine["id"]]
    assert "dossier" not in listed.json()[0]
    others = await client.get("/v1/me/filings", headers=citizen_headers(FATHER))
    assert others.json() == []
    corrections = await client.get("/v1/me/corrections", headers=citizen_headers(FATHER))
    assert corrections.status_code == 200
    assert corrections.json() == []
    with_key = await client.get("/v1/me/filings", headers=portal.consumer.headers)
    assert with_key.status_code == 403


async def test_declare_once_statistics_need_the_auditor_role(
    portal: Portal, client: httpx.AsyncClient, make_api_client: MakeClient
) -> None:
    auditor = await make_api_client("auditor")
    empty = await client.get("/v1/stats/declare-once", headers=auditor.headers)
    assert empty.status_code == 200
    assert empty.json()["total"]["filings"] == 0
    refused = await client.get("/v1/stats/declare-once", headers=portal.consumer.headers)
    assert refused.status_code == 403
