"""Every shipped procedure end to end over HTTP, against the four mocks as processes:
open -> plan -> consent where needed -> prefill -> applicant fields -> preview -> submit ->
decision, checking the provenance of every pre-filled field on the way."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from dictionary import load_dictionary
from tests.helpers.filings import Portal, assert_provenance, plan_of

# Hanoi (001), born in the 21st century, male (2), in 2026 (26): the demo mother's newborn is
# a boy born in 2026 (her medical birth certificate, People.newborn).
CHILD_ID = "001226000123"


@dataclass
class Scenario:
    procedure: str
    applicant: str
    before: dict[str, Any]
    after: dict[str, Any]
    result: dict[str, Any]
    on_behalf_of: str | None = None
    expected_values: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class People:
    man: str
    woman: str
    widower: str
    late_wife: str
    groom: str
    bride: str
    requester: str
    land_owner: str
    certificate: str
    # The woman's medical birth certificate as the dossier holds it (field -> value).
    newborn: dict[str, str] = field(default_factory=dict)


def people_of(mocks: Any) -> People:
    dataset = mocks.dataset
    demo = dataset.demo_citizens(4)

    def spouse(citizen_id: str) -> str:
        person = dataset.person_by_id(citizen_id)
        return str(dataset.citizen_id(person.spouse))

    owner = demo[1]
    parcels = dataset.parcels_of(dataset.person_by_id(owner).index)
    certificate = next(p.certificate_number for p in parcels if p.certificate_number)
    woman = spouse(demo[0])
    birth = dataset.birth_certificates(dataset.index_of(woman))[0]
    newborn = {
        "certificate_number": birth.certificate_number,
        "issued_date": birth.issued.isoformat(),
        "child_date_of_birth": birth.child_date_of_birth.isoformat(),
        "child_sex": birth.child_sex,
        "child_place_of_birth_province": birth.province_code,
    }
    return People(
        man=demo[0],
        woman=woman,
        widower=demo[1],
        late_wife=spouse(demo[1]),
        groom=demo[2],
        bride=spouse(demo[2]),
        requester=demo[3],
        land_owner=owner,
        certificate=certificate,
        newborn=newborn,
    )


def scenarios(p: People) -> dict[str, Scenario]:
    decided_on = "2026-11-24"
    return {
        "birth-registration": Scenario(
            "birth-registration",
            p.woman,
            # The mother declares: her ID is the applicant's. The register holds her medical
            # birth certificate: the child's date and province of birth and sex are its, and
            # the father is her husband (she was married on that date of birth).
            before={"birth_declaration": {"declarant_relationship": "Mẹ"}},
            after={"birth_declaration": {"child_full_name": "Huỳnh Minh An"}},
            result={
                "registration_number": "KS-2026/0001",
                "registration_date": decided_on,
                "registration_province": "01",
                "child_citizen_id": CHILD_ID,
            },
            expected_values={
                "/mother_identity/citizen_id": p.woman,
                "/birth_declaration/mother_citizen_id": p.woman,
                "/birth_declaration/father_citizen_id": p.man,
                "/father_identity/citizen_id": p.man,
                **{f"/medical_birth_certificate/{k}": v for k, v in p.newborn.items()},
                **{
                    f"/birth_declaration/{k}": v
                    for k, v in p.newborn.items()
                    if k.startswith("child_")
                },
            },
        ),
        "death-registration": Scenario(
            "death-registration",
            p.widower,
            before={"death_declaration": {"deceased_citizen_id": p.late_wife}},
            after={
                "death_declaration": {
                    "date_of_death": "2026-11-20",
                    "place_of_death_province": "01",
                    "declarant_relationship": "Chồng",
                },
                "death_notice": {"certificate_number": "BT-2026-0042", "issued_date": "2026-11-21"},
            },
            result={
                "registration_number": "KT-2026/0007",
                "registration_date": decided_on,
                "registration_province": "01",
            },
            expected_values={
                "/deceased_identity/citizen_id": p.late_wife,
                "/declarant_identity/citizen_id": p.widower,
            },
        ),
        "marriage-registration": Scenario(
            "marriage-registration",
            p.groom,
            # The groom files: his ID is the applicant's.
            before={"marriage_declaration": {"wife_citizen_id": p.bride}},
            after={},
            result={
                "registration_number": "KH-2026/0012",
                "registration_date": decided_on,
                "registration_province": "01",
            },
            expected_values={
                "/marriage_declaration/husband_citizen_id": p.groom,
                "/husband_marital_status/citizen_id": p.groom,
                "/wife_marital_status/citizen_id": p.bride,
            },
        ),
        "marital-status-certificate": Scenario(
            "marital-status-certificate",
            p.requester,
            before={},
            after={"certificate_request": {"purpose": "Giao dịch bất động sản"}},
            result={
                "certificate_number": "XN-2026/0099",
                "issued_date": decided_on,
                "issuing_province": "01",
                "valid_until": "2027-05-24",
            },
            expected_values={"/requester_identity/citizen_id": p.requester},
        ),
        "permanent-residence-registration": Scenario(
            "permanent-residence-registration",
            p.woman,
            before={"residence_declaration": {"household_head_citizen_id": p.man}},
            # The address is the receiving household's.
            after={"residence_declaration": {"relationship_to_head": "SPOUSE"}},
            result={"registered_on": decided_on},
            expected_values={"/receiving_household/head_citizen_id": p.man},
        ),
        "land-use-right-transfer": Scenario(
            "land-use-right-transfer",
            p.land_owner,
            # The owner holds one certificate: the pull finds it, no number is typed.
            before={"transfer_declaration": {"transferee_citizen_id": p.groom}},
            after={
                "transfer_declaration": {"contract_number": "HD-2026-15", "transfer_price": 1.5e9}
            },
            result={
                "certificate_number": "DA1234567",
                "issued_date": decided_on,
                "issuing_province": "01",
            },
            expected_values={
                "/land_certificate/certificate_number": p.certificate,
                "/transfer_declaration/certificate_number": p.certificate,
                "/land_certificate/owner_citizen_id": p.land_owner,
                "/transferee_identity/citizen_id": p.groom,
            },
        ),
        "personal-income-tax-finalisation": Scenario(
            "personal-income-tax-finalisation",
            p.man,
            before={"finalisation_return": {"tax_year": 2025}},
            after={"finalisation_return": {"taxable_income": 240_000_000, "dependants": 1}},
            result={
                "obligation_status": "FULFILLED",
                "outstanding_amount": 0,
                "last_filing_date": "2026-03-15",
                "as_of_date": decided_on,
            },
            expected_values={
                "/taxpayer_registration/tax_code": p.man,
                "/tax_obligation/tax_year": 2025,
            },
        ),
    }


PROCEDURES = sorted(load_dictionary().procedures)


def test_every_shipped_procedure_has_an_end_to_end_scenario() -> None:
    placeholder = People(*(["001190012345"] * 9))
    assert sorted(scenarios(placeholder)) == PROCEDURES


async def run_scenario(
    portal: Portal, scenario: Scenario, record_consents: bool = True
) -> dict[str, Any]:
    """Drive one filing from open to approval; returns the approved filing."""
    procedure = await portal.procedure(scenario.procedure)
    opened = await portal.open(scenario.procedure, scenario.applicant, scenario.on_behalf_of)
    assert opened["status"] == "draft"
    plan = plan_of(opened)
    for component in procedure["components"]:
        entry = plan[component["id"]]
        if component["kind"] == "applicant":
            assert entry["action"] == "applicant_supplies"
        elif component["basis"]["kind"] == "legal":
            assert entry["action"] == "pull_legal_basis"
        else:
            assert entry["action"] == "pull_with_consent"
            assert entry["consent"]["state"] in ("missing", "subject_unknown")
    filing_id = opened["id"]
    if scenario.before:
        await portal.fill(filing_id, scenario.before)
    seen = await portal.get(filing_id)
    consents: dict[str, str] = {}
    for entry in seen["plan"]:
        if entry["action"] != "pull_with_consent" or not record_consents:
            continue
        subject = entry["subject"]["citizen_id"]
        assert subject is not None
        consent = await portal.consent(
            subject, scenario.procedure, entry["record_type"], entry["fields"]
        )
        consents[entry["component"]] = consent["id"]
    if record_consents:
        seen = await portal.get(filing_id)
        for entry in seen["plan"]:
            if entry["action"] == "pull_with_consent":
                assert entry["consent"]["state"] == "present", entry

    prefilled = await portal.prefill(filing_id)
    assert prefilled["status"] == "prefilled"
    states = plan_of(prefilled)
    for component in procedure["components"]:
        if component["kind"] != "state":
            continue
        entry = states[component["id"]]
        if component["required"]:
            assert entry["status"] in ("prefilled", "reused"), entry
        else:
            assert entry["status"] in ("prefilled", "reused") or entry["error"]["code"], entry
        if entry["status"] in ("prefilled", "reused"):
            pulled = prefilled["dossier"][component["id"]]
            assert set(pulled) <= set(component["fields"]), "more than the procedure needs"
    for component_id, consent_id in consents.items():
        if states[component_id]["status"] == "prefilled":
            origins = [
                o for p, o in prefilled["provenance"].items() if p.startswith(f"/{component_id}/")
            ]
            assert origins
            assert all(o["basis"] == {"kind": "consent", "reference": consent_id} for o in origins)
    for path, value in scenario.expected_values.items():
        component_id, name = path.strip("/").split("/")
        assert prefilled["dossier"][component_id][name] == value, path
    assert_provenance(procedure, prefilled)
    counts = prefilled["declare_once"]
    assert counts["fields_prefilled"] > 0
    assert counts["components_from_state"] == sum(
        1 for e in prefilled["plan"] if e.get("status") in ("prefilled", "reused")
    )

    if scenario.after:
        await portal.fill(filing_id, scenario.after)
    preview = await portal.get(filing_id)
    assert_provenance(procedure, preview)
    typed = [
        f"/{component_id}/{name}"
        for given in (scenario.before, scenario.after)
        for component_id, values in given.items()
        for name in values
    ]
    # A value typed to pick a record (a certificate number) is the pull's once verified.
    assert preview["typed_fields"] == sorted(p for p in typed if p not in preview["provenance"])
    assert preview["declare_once"]["fields_typed"] == len(preview["typed_fields"])
    derived = {
        f"/{entry['component']}/{f['name']}": f["derived_from"]
        for entry in preview["plan"]
        for f in entry.get("derived_fields") or []
    }
    for path, source in derived.items():
        assert path not in preview["typed_fields"], path
        if path in preview["provenance"]:
            assert preview["provenance"][path]["derived_from"] == source
    assert preview["declare_once"]["fields_prefilled"] == counts["fields_prefilled"]

    submitted = await portal.submit(filing_id, key=f"submit-{filing_id}")
    assert submitted.status_code == 200, submitted.text
    assert submitted.json()["status"] == "submitted"
    assert submitted.json()["submitted_at"]

    decided = await portal.decide(filing_id, "approved", result=scenario.result)
    assert decided.status_code == 200, decided.text
    approved: dict[str, Any] = decided.json()
    assert approved["status"] == "approved"
    assert approved["decision"]["decision"] == "approved"
    result = approved["result"]
    assert result["record_type"] == procedure["result"]["record_type"]
    for name, ref in procedure["result"]["from_dossier"].items():
        component_id, field_name = ref.split(".")
        value = approved["dossier"].get(component_id, {}).get(field_name)
        if value is not None:
            assert result["record"][name] == value, name
    return approved


@pytest.mark.parametrize("procedure", PROCEDURES)
async def test_a_filing_runs_from_open_to_decision(
    procedure: str, portal: Portal, sources: Any, client: httpx.AsyncClient, citizen_headers: Any
) -> None:
    scenario = scenarios(people_of(sources))[procedure]
    approved = await run_scenario(portal, scenario)
    mine = await client.get("/v1/me/filings", headers=citizen_headers(scenario.applicant))
    assert [(f["id"], f["status"]) for f in mine.json()] == [(approved["id"], "approved")]


async def test_a_birth_registration_is_reused_by_the_next_procedure_about_the_child(
    portal: Portal, sources: Any, app: Any
) -> None:
    people = people_of(sources)
    birth = await run_scenario(portal, scenarios(people)["birth-registration"])
    assert birth["result"]["subject_id"] == CHILD_ID
    residence = Scenario(
        "permanent-residence-registration",
        people.woman,
        on_behalf_of=CHILD_ID,
        before={"residence_declaration": {"household_head_citizen_id": people.man}},
        after={
            # The newborn is not yet in the population database: the applicant types it.
            "registrant_identity": {
                "citizen_id": CHILD_ID,
                "full_name": "Huỳnh Minh An",
                "date_of_birth": people.newborn["child_date_of_birth"],
            },
            "residence_declaration": {"relationship_to_head": "CHILD"},
        },
        result={"registered_on": "2026-11-25"},
    )
    procedure = await portal.procedure(residence.procedure)
    opened = await portal.open(residence.procedure, residence.applicant, CHILD_ID)
    await portal.fill(opened["id"], residence.before)
    prefilled = await portal.prefill(opened["id"])
    plan = plan_of(prefilled)
    assert plan["relationship_proof"]["status"] == "reused"
    proof = prefilled["dossier"]["relationship_proof"]
    assert proof["child_citizen_id"] == CHILD_ID
    assert proof["registration_number"] == "KS-2026/0001"
    origin = prefilled["provenance"]["/relationship_proof/registration_number"]
    assert origin["from_filing"] == birth["id"]
    assert origin["source_system"] == "hub"
    assert origin["source_reference"] == f"filing/{birth['id']}"
    assert origin["verified"] is True
    assert plan["registrant_identity"]["status"] == "failed"
    assert plan["registrant_identity"]["error"]["code"] == "subject_not_found"
    assert_provenance(procedure, prefilled)
    from tests.helpers.sources import audit_events

    reuses = [e for e in await audit_events(app, "filing.prefill") if e.filing_id == opened["id"]]
    assert [(e.record_type, e.outcome) for e in reuses] == [("BirthRegistration", "allowed")]
    assert reuses[0].details["reused_from_filing"] == birth["id"]
    assert reuses[0].basis.startswith("legal:")
    await portal.fill(opened["id"], residence.after)
    assert (await portal.submit(opened["id"])).status_code == 200
    decided = await portal.decide(opened["id"], "approved", result=residence.result)
    assert decided.status_code == 200, decided.text
    assert decided.json()["result"]["record"]["citizen_id"] == CHILD_ID


async def test_a_source_down_gives_a_partial_prefill_with_its_error(
    portal: Portal, sources: Any, app: Any
) -> None:
    scenario = scenarios(people_of(sources))["land-use-right-transfer"]
    sources.set_faults("land", error_rate=1.0)
    opened = await portal.open(scenario.procedure, scenario.applicant)
    await portal.fill(opened["id"], scenario.before)
    partial = await portal.prefill(opened["id"])
    plan = plan_of(partial)
    assert partial["status"] == "prefilled"
    assert plan["land_certificate"]["status"] == "failed"
    assert plan["land_certificate"]["error"]["code"] == "source_unavailable"
    assert plan["land_certificate"]["fallback"] == "applicant_supplies"
    assert "land_certificate" not in partial["dossier"]
    # No certificate pulled: the number it would give is the applicant's to type.
    certificate = "/transfer_declaration/certificate_number"
    fields = [f["name"] for f in plan["transfer_declaration"]["fields"]]
    assert "certificate_number" in fields
    assert certificate not in partial["provenance"]
    assert plan["transferor_identity"]["status"] == "prefilled"
    assert plan["transferor_marital_status"]["status"] == "prefilled"
    assert plan["transferor_taxpayer"]["error"]["code"] == "no_basis"  # no consent recorded
    sources.reset()
    again = await portal.prefill(opened["id"])
    assert plan_of(again)["land_certificate"]["status"] == "prefilled"
    assert again["provenance"][certificate]["derived_from"] == "land_certificate.certificate_number"
    assert (
        again["dossier"]["land_certificate"]["certificate_number"]
        == scenario.expected_values["/land_certificate/certificate_number"]
    )
    from tests.helpers.sources import audit_events

    pulls = [e for e in await audit_events(app, "data.pull") if e.filing_id == opened["id"]]
    land = [e for e in pulls if e.record_type == "LandUseRightCertificate"]
    assert [e.outcome for e in land] == ["error", "allowed"]
    assert all(e.subject_hint for e in pulls)
    changes = [e for e in await audit_events(app, "filing.changed") if e.filing_id == opened["id"]]
    assert [e.details["action"] for e in changes] == [
        "opened",
        "fields_set",
        "prefilled",
        "prefilled",
    ]
    assert all(e.subject_hmac for e in changes)


async def test_a_duplicate_submit_is_idempotent(
    portal: Portal, sources: Any, app: Any, client: httpx.AsyncClient, make_api_client: Any
) -> None:
    scenario = scenarios(people_of(sources))["marriage-registration"]
    opened = await portal.open(scenario.procedure, scenario.applicant)
    await portal.fill(opened["id"], scenario.before)
    await portal.prefill(opened["id"])
    first = await portal.submit(opened["id"], key="k-1")
    again = await portal.submit(opened["id"], key="k-1")
    assert first.status_code == again.status_code == 200
    assert first.json()["submitted_at"] == again.json()["submitted_at"]
    reused = await portal.submit(opened["id"], key="k-1", confirm=False)
    assert reused.status_code == 422
    assert reused.json()["code"] == "idempotency_key_reused"
    keyless = await portal.submit(opened["id"])
    assert keyless.status_code == 200
    assert keyless.json()["status"] == "submitted"
    assert keyless.json()["submitted_at"] == first.json()["submitted_at"]
    from tests.helpers.sources import audit_events

    submitted = [
        e
        for e in await audit_events(app, "filing.changed")
        if e.filing_id == opened["id"] and e.details["action"] == "submitted"
    ]
    assert len(submitted) == 1
    auditor = await make_api_client("auditor")
    stats = (await client.get("/v1/stats/declare-once", headers=auditor.headers)).json()
    assert stats["total"]["filings"] == 1
    row = stats["by_procedure"][0]
    assert row["procedure"] == "marriage-registration"
    assert row["fields_prefilled"] == first.json()["declare_once"]["fields_prefilled"]
    assert stats["by_agency"][0]["agency"] == portal.consumer_agency
    metrics = (await client.get("/metrics")).text
    assert 'hub_declare_once_fields_total{origin="state",procedure="marriage-registration"}' in (
        metrics
    )


async def test_a_verified_field_is_locked_and_can_only_be_disputed(
    portal: Portal, sources: Any, client: httpx.AsyncClient, citizen_headers: Any
) -> None:
    scenario = scenarios(people_of(sources))["birth-registration"]
    opened = await portal.open(scenario.procedure, scenario.applicant)
    await portal.fill(opened["id"], scenario.before)
    prefilled = await portal.prefill(opened["id"])
    name = prefilled["dossier"]["mother_identity"]["full_name"]
    assert "/mother_identity/full_name" in prefilled["locked_fields"]
    refused = await portal.patch(opened["id"], {"mother_identity": {"full_name": "Ai Đó Khác"}})
    assert refused.status_code == 409
    assert refused.json()["code"] == "field_verified_locked"
    assert refused.json()["errors"][0]["path"] == "/mother_identity/full_name"
    cleared = await portal.patch(opened["id"], {"mother_identity": {"full_name": None}})
    assert cleared.status_code == 409
    same = await portal.patch(opened["id"], {"mother_identity": {"full_name": name}})
    assert same.status_code == 200
    assert (await portal.get(opened["id"]))["dossier"]["mother_identity"]["full_name"] == name
    disputed = await client.post(
        f"/v1/filings/{opened['id']}/corrections",
        json={
            "field": "/mother_identity/full_name",
            "claimed_value": "Nguyễn Thị Hoa",
            "note": "Tên trên CCCD khác",
        },
        headers=portal.headers,
    )
    assert disputed.status_code == 201, disputed.text
    correction = disputed.json()
    assert correction["status"] == "open"
    assert correction["owner_system"] == "population"
    assert correction["current_value"] == name
    assert correction["claimed_value"] == "Nguyễn Thị Hoa"
    bad_claim = await client.post(
        f"/v1/filings/{opened['id']}/corrections",
        json={"field": "/mother_identity/date_of_birth", "claimed_value": "yesterday"},
        headers=portal.headers,
    )
    assert bad_claim.status_code == 422
    assert bad_claim.json()["errors"][0]["path"] == "/claimed_value"
    shown = await portal.get(opened["id"])
    assert [c["id"] for c in shown["corrections"]] == [correction["id"]]
    forwarded = await client.patch(
        f"/v1/filings/{opened['id']}/corrections/{correction['id']}",
        json={"status": "forwarded"},
        headers=portal.headers,
    )
    assert forwarded.json()["status"] == "forwarded"
    back = await client.patch(
        f"/v1/filings/{opened['id']}/corrections/{correction['id']}",
        json={"status": "forwarded"},
        headers=portal.headers,
    )
    assert back.status_code == 409
    mine = await client.get("/v1/me/corrections", headers=citizen_headers(scenario.applicant))
    assert [(c["id"], c["status"]) for c in mine.json()] == [(correction["id"], "forwarded")]
    theirs = await client.get("/v1/me/corrections", headers=citizen_headers(CHILD_ID))
    assert theirs.json() == []
