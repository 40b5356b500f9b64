"""Derived fields: a value the dossier already holds (or the applicant's own ID) is never
asked for again. It follows its source, says where it came from, and a PATCH cannot set it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.helpers.filings import Portal, assert_provenance, plan_of

MAN = "001090012345"  # fourth digit 0: a man born in the 20th century
WOMAN = "001190054321"  # fourth digit 1: a woman born in the 20th century
OTHER = "079085000111"


def _to_type(filing: dict[str, Any], component: str) -> list[str]:
    return [f["name"] for f in plan_of(filing)[component]["fields"]]


def _derived(filing: dict[str, Any], component: str) -> dict[str, str]:
    entry = plan_of(filing)[component]
    return {f["name"]: f["derived_from"] for f in entry["derived_fields"] or []}


async def test_the_applicants_own_id_is_the_husbands_when_he_files(portal: Portal) -> None:
    opened = await portal.open("marriage-registration", MAN)
    assert opened["dossier"]["marriage_declaration"] == {"husband_citizen_id": MAN}
    assert _to_type(opened, "marriage_declaration") == ["wife_citizen_id"]
    assert _derived(opened, "marriage_declaration") == {
        "husband_citizen_id": "applicant.citizen_id"
    }
    origin = opened["provenance"]["/marriage_declaration/husband_citizen_id"]
    assert origin["derived_from"] == "applicant.citizen_id"
    assert origin["source_system"] == "applicant"
    assert origin["verified"] is False
    counts = opened["declare_once"]
    assert (counts["fields_prefilled"], counts["fields_typed"], counts["fields_derived"]) == (
        0,
        0,
        1,
    )
    assert counts["declare_once_rate"] == 0.0  # the applicant's own ID is not state data

    refused = await portal.patch(
        opened["id"], {"marriage_declaration": {"husband_citizen_id": OTHER}}
    )
    assert refused.status_code == 409
    assert refused.json()["code"] == "field_derived"
    assert refused.json()["errors"][0]["path"] == "/marriage_declaration/husband_citizen_id"
    same = await portal.fill(
        opened["id"],
        {"marriage_declaration": {"husband_citizen_id": MAN, "wife_citizen_id": WOMAN}},
    )
    assert same["typed_fields"] == ["/marriage_declaration/wife_citizen_id"]

    hers = await portal.open("marriage-registration", WOMAN)
    assert hers["dossier"]["marriage_declaration"] == {"wife_citizen_id": WOMAN}
    assert _to_type(hers, "marriage_declaration") == ["husband_citizen_id"]


async def test_a_parent_who_declares_a_birth_is_not_asked_for_their_own_id(
    portal: Portal,
) -> None:
    opened = await portal.open("birth-registration", WOMAN)
    assert "mother_citizen_id" in _to_type(opened, "birth_declaration")
    mother = await portal.fill(
        opened["id"], {"birth_declaration": {"declarant_relationship": "Mẹ"}}
    )
    assert mother["dossier"]["birth_declaration"]["mother_citizen_id"] == WOMAN
    assert "mother_citizen_id" not in _to_type(mother, "birth_declaration")
    # Unmarried as far as anyone knows yet: the father's ID waits for the marriage record, the
    # child's particulars for the medical birth certificate.
    assert _derived(mother, "birth_declaration") == {
        "child_date_of_birth": "medical_birth_certificate.child_date_of_birth",
        "child_sex": "medical_birth_certificate.child_sex",
        "child_place_of_birth_province": "medical_birth_certificate.child_place_of_birth_province",
        "mother_citizen_id": "applicant.citizen_id",
        "father_citizen_id": "parents_marriage.husband_citizen_id",
    }

    father = await portal.fill(
        opened["id"], {"birth_declaration": {"declarant_relationship": "Cha"}}
    )
    declaration = father["dossier"]["birth_declaration"]
    assert declaration["father_citizen_id"] == WOMAN
    assert "mother_citizen_id" not in declaration  # no longer derived: the applicant types it
    assert "mother_citizen_id" in _to_type(father, "birth_declaration")
    typed = await portal.fill(opened["id"], {"birth_declaration": {"mother_citizen_id": OTHER}})
    assert "/birth_declaration/mother_citizen_id" in typed["typed_fields"]
    assert "/birth_declaration/father_citizen_id" not in typed["typed_fields"]


async def test_the_new_address_is_the_receiving_households(portal: Portal, sources: Any) -> None:
    dataset = sources.dataset
    head = dataset.demo_citizens(1)[0]
    partner = str(dataset.citizen_id(dataset.person_by_id(head).spouse))
    procedure = await portal.procedure("permanent-residence-registration")
    opened = await portal.open(procedure["code"], partner)
    # The relationship waits for the birth and marriage registrations that may prove it.
    assert _to_type(opened, "residence_declaration") == ["household_head_citizen_id", "reason"]
    await portal.fill(opened["id"], {"residence_declaration": {"household_head_citizen_id": head}})
    prefilled = await portal.prefill(opened["id"])
    household = prefilled["dossier"]["receiving_household"]
    declaration = prefilled["dossier"]["residence_declaration"]
    assert declaration["address_line"] == household["address_line"]
    assert declaration["province_code"] == household["province_code"]
    origin = prefilled["provenance"]["/residence_declaration/address_line"]
    assert origin["derived_from"] == "receiving_household.address_line"
    assert origin["source_system"] == "population"
    assert "/residence_declaration/address_line" in prefilled["locked_fields"]
    assert origin == {
        **prefilled["provenance"]["/receiving_household/address_line"],
        "derived_from": "receiving_household.address_line",
    }

    moved = await portal.patch(
        opened["id"], {"residence_declaration": {"address_line": "18 Hoàng Diệu, Ba Đình"}}
    )
    assert moved.status_code == 409
    assert moved.json()["code"] == "field_derived"
    disputed = await portal.http.post(
        f"/v1/filings/{opened['id']}/corrections",
        json={"field": "/residence_declaration/address_line", "claimed_value": "18 Hoàng Diệu"},
        headers=portal.headers,
    )
    assert disputed.status_code == 422  # dispute the household's address, its source
    assert disputed.json()["code"] == "field_not_state_held"


async def test_a_certificate_number_typed_to_pick_the_parcel_is_the_pulls_once_verified(
    portal: Portal, sources: Any
) -> None:
    dataset = sources.dataset
    owner = dataset.demo_citizens(2)[1]
    parcels = dataset.parcels_of(dataset.person_by_id(owner).index)
    number = next(p.certificate_number for p in parcels if p.certificate_number)
    opened = await portal.open("land-use-right-transfer", owner)
    assert "certificate_number" not in _to_type(opened, "transfer_declaration")
    await portal.fill(opened["id"], {"land_certificate": {"certificate_number": number}})
    prefilled = await portal.prefill(opened["id"])
    assert prefilled["dossier"]["transfer_declaration"]["certificate_number"] == number
    assert prefilled["provenance"]["/land_certificate/certificate_number"]["verified"] is True
    assert prefilled["typed_fields"] == []

    unknown = await portal.open("land-use-right-transfer", owner)
    await portal.fill(unknown["id"], {"land_certificate": {"certificate_number": "ZZ00000000"}})
    missed = await portal.prefill(unknown["id"])
    assert plan_of(missed)["land_certificate"]["error"]["code"] == "no_matching_record"
    copied = missed["provenance"]["/transfer_declaration/certificate_number"]
    assert copied["source_system"] == "applicant"  # a typed value: not from the state
    assert missed["declare_once"]["fields_derived"] == 1


def _couple(dataset: Any) -> tuple[str, str, Any]:
    """The first demo citizen (a man), his wife, and the day their marriage was registered.
    The civil-status register holds her medical birth certificate: she has just given birth."""
    husband = dataset.demo_citizens(1)[0]
    person = dataset.person_by_id(husband)
    married_on = dataset.marriages_of(person.index)[0].registration_date
    return husband, str(dataset.citizen_id(person.spouse)), married_on


def _couple_without_a_birth_certificate(dataset: Any) -> tuple[str, str, Any]:
    """A married couple on record without a defect whose wife holds no medical birth
    certificate (she gave birth elsewhere, abroad, at home...), and their marriage's day."""
    for unit in range(dataset.units):
        husband, wife = dataset.person(6 * unit + 2), dataset.person(6 * unit + 3)
        if (
            husband.marital_status == wife.marital_status == "MARRIED"
            and not dataset.has_defect(husband.index)
            and not dataset.has_defect(wife.index)
            and not dataset.birth_certificates(wife.index)
        ):
            married_on = dataset.marriages_of(wife.index)[0].registration_date
            return husband.citizen_id, wife.citizen_id, married_on
    raise AssertionError("no married couple without a birth certificate")


async def test_the_childs_particulars_are_the_medical_birth_certificates(
    portal: Portal, sources: Any
) -> None:
    dataset = sources.dataset
    husband, mother, _ = _couple(dataset)
    certificate = dataset.birth_certificates(dataset.index_of(mother))[0]
    procedure = await portal.procedure("birth-registration")
    opened = await portal.open(procedure["code"], mother)
    filled = await portal.fill(
        opened["id"], {"birth_declaration": {"declarant_relationship": "Mẹ"}}
    )
    # Held for the certificate while it is not pulled: no one types them meanwhile.
    assert "child_date_of_birth" in _derived(filled, "birth_declaration")
    assert "child_sex" not in _to_type(filled, "birth_declaration")
    early = await portal.patch(opened["id"], {"birth_declaration": {"child_sex": "F"}})
    assert early.status_code == 409
    assert early.json()["code"] == "field_derived"

    prefilled = await portal.prefill(opened["id"])
    pulled = prefilled["dossier"]["medical_birth_certificate"]
    assert pulled["certificate_number"] == certificate.certificate_number
    assert pulled["issued_date"] == certificate.issued.isoformat()
    declaration = prefilled["dossier"]["birth_declaration"]
    assert declaration["child_date_of_birth"] == certificate.child_date_of_birth.isoformat()
    assert declaration["child_sex"] == certificate.child_sex
    assert declaration["child_place_of_birth_province"] == certificate.province_code
    for name in ("child_date_of_birth", "child_sex", "child_place_of_birth_province"):
        origin = prefilled["provenance"][f"/birth_declaration/{name}"]
        assert origin == {
            **prefilled["provenance"][f"/medical_birth_certificate/{name}"],
            "derived_from": f"medical_birth_certificate.{name}",
        }
        assert origin["source_system"] == "civil_status"
        assert origin["verified"] is True
    # The presumption compares her marriage with the date of birth the certificate gives.
    assert prefilled["dossier"]["mother_identity"]["marital_status"] == "MARRIED"
    assert declaration["father_citizen_id"] == husband
    assert prefilled["dossier"]["father_identity"]["citizen_id"] == husband
    origin = prefilled["provenance"]["/birth_declaration/father_citizen_id"]
    assert origin["derived_from"] == "parents_marriage.husband_citizen_id"
    assert origin["source_system"] == "civil_status"
    assert prefilled["typed_fields"] == ["/birth_declaration/declarant_relationship"]
    assert_provenance(procedure, prefilled)
    for refused_value in ({"child_date_of_birth": "2026-09-01"}, {"father_citizen_id": OTHER}):
        refused = await portal.patch(opened["id"], {"birth_declaration": refused_value})
        assert refused.status_code == 409
        assert refused.json()["code"] == "field_derived"


async def test_without_a_birth_certificate_the_declarant_gives_the_childs_particulars(
    portal: Portal, sources: Any
) -> None:
    husband, mother, married_on = _couple_without_a_birth_certificate(sources.dataset)
    procedure = await portal.procedure("birth-registration")
    opened = await portal.open(procedure["code"], mother)
    filled = await portal.fill(
        opened["id"], {"birth_declaration": {"declarant_relationship": "Mẹ"}}
    )
    # Held for the marriage record while it is not pulled: no one types it meanwhile.
    assert "father_citizen_id" in _derived(filled, "birth_declaration")
    assert "/birth_declaration/father_citizen_id" not in filled["provenance"]
    refused = await portal.patch(opened["id"], {"birth_declaration": {"father_citizen_id": MAN}})
    assert refused.status_code == 409
    assert refused.json()["code"] == "field_derived"
    # Pulled, the register holds no certificate, and the marriage says nothing about a child
    # whose date of birth is not known.
    prefilled = await portal.prefill(opened["id"])
    assert plan_of(prefilled)["medical_birth_certificate"]["error"]["code"] == "subject_not_found"
    assert prefilled["dossier"]["parents_marriage"]["husband_citizen_id"] == husband
    to_type = _to_type(prefilled, "birth_declaration")
    for name in ("child_date_of_birth", "child_sex", "child_place_of_birth_province"):
        assert name in to_type
    assert "father_citizen_id" not in prefilled["dossier"]["birth_declaration"]
    assert "father_citizen_id" in to_type
    # Given the date (the day of the marriage counts), the presumption holds; the father's
    # record waits for the next prefill.
    born = await portal.fill(
        opened["id"],
        {
            "birth_declaration": {
                "child_date_of_birth": married_on.isoformat(),
                "child_sex": "F",
                "child_place_of_birth_province": "01",
            }
        },
    )
    assert born["dossier"]["birth_declaration"]["father_citizen_id"] == husband
    assert "/birth_declaration/child_date_of_birth" in born["typed_fields"]
    origin = born["provenance"]["/birth_declaration/father_citizen_id"]
    assert origin["derived_from"] == "parents_marriage.husband_citizen_id"
    again = await portal.prefill(opened["id"])
    assert again["dossier"]["father_identity"]["citizen_id"] == husband
    assert again["dossier"]["birth_declaration"]["child_date_of_birth"] == married_on.isoformat()
    assert_provenance(procedure, again)


async def test_a_child_born_before_the_marriage_is_not_presumed_the_husbands(
    portal: Portal, sources: Any
) -> None:
    husband, mother, married_on = _couple_without_a_birth_certificate(sources.dataset)
    opened = await portal.open("birth-registration", mother)
    await portal.fill(opened["id"], {"birth_declaration": {"declarant_relationship": "Mẹ"}})
    prefilled = await portal.prefill(opened["id"])
    assert plan_of(prefilled)["father_identity"]["error"]["code"] == "subject_unknown"
    before = (married_on - timedelta(days=1)).isoformat()
    born = await portal.fill(opened["id"], {"birth_declaration": {"child_date_of_birth": before}})
    assert "father_citizen_id" not in born["dossier"]["birth_declaration"]
    assert "father_citizen_id" in _to_type(born, "birth_declaration")
    # The declarant may name the father (one who acknowledges the child, Art. 88(1)).
    typed = await portal.fill(opened["id"], {"birth_declaration": {"father_citizen_id": husband}})
    assert "/birth_declaration/father_citizen_id" in typed["typed_fields"]


async def test_a_spouse_who_registers_a_death_is_not_asked_the_relationship(
    portal: Portal, sources: Any
) -> None:
    dataset = sources.dataset
    widower = dataset.demo_citizens(2)[1]  # a man (fourth digit of his ID)
    late_wife = str(dataset.citizen_id(dataset.person_by_id(widower).spouse))
    procedure = await portal.procedure("death-registration")
    opened = await portal.open(procedure["code"], widower)
    assert "declarant_relationship" not in _to_type(opened, "death_declaration")
    await portal.fill(opened["id"], {"death_declaration": {"deceased_citizen_id": late_wife}})
    prefilled = await portal.prefill(opened["id"])
    assert prefilled["dossier"]["death_declaration"]["declarant_relationship"] == "Chồng"
    origin = prefilled["provenance"]["/death_declaration/declarant_relationship"]
    assert origin["derived_from"] == "declarant_marriage.wife_citizen_id"
    assert origin["source_system"] == "civil_status"
    assert origin == {
        **prefilled["provenance"]["/declarant_marriage/wife_citizen_id"],
        "derived_from": "declarant_marriage.wife_citizen_id",
    }
    assert prefilled["declare_once"]["fields_typed"] == 1  # the deceased's ID
    refused = await portal.patch(
        opened["id"], {"death_declaration": {"declarant_relationship": "Con"}}
    )
    assert refused.status_code == 409
    assert refused.json()["code"] == "field_derived"


async def test_a_declarant_who_is_not_the_spouse_gives_the_relationship(
    portal: Portal, sources: Any
) -> None:
    dataset = sources.dataset
    son = dataset.demo_citizens(1)[0]
    father = str(dataset.citizen_id(dataset.person_by_id(son).father))
    opened = await portal.open("death-registration", son)
    await portal.fill(opened["id"], {"death_declaration": {"deceased_citizen_id": father}})
    prefilled = await portal.prefill(opened["id"])
    assert "declarant_relationship" not in prefilled["dossier"]["death_declaration"]
    assert "declarant_relationship" in _to_type(prefilled, "death_declaration")
    typed = await portal.fill(
        opened["id"], {"death_declaration": {"declarant_relationship": "Con"}}
    )
    assert "/death_declaration/declarant_relationship" in typed["typed_fields"]


async def test_the_relationship_to_the_head_is_the_one_the_registers_prove(
    portal: Portal, sources: Any
) -> None:
    dataset = sources.dataset
    head, wife, _ = _couple(dataset)
    opened = await portal.open("permanent-residence-registration", wife)
    await portal.fill(opened["id"], {"residence_declaration": {"household_head_citizen_id": head}})
    prefilled = await portal.prefill(opened["id"])
    assert prefilled["dossier"]["residence_declaration"]["relationship_to_head"] == "SPOUSE"
    origin = prefilled["provenance"]["/residence_declaration/relationship_to_head"]
    assert origin["derived_from"] == "marriage_proof.husband_citizen_id"
    assert origin["source_system"] == "civil_status"
    assert prefilled["dossier"]["marriage_proof"]["husband_citizen_id"] == head

    # Moving in with a parent: the registrant's birth registration names the head.
    father = str(dataset.citizen_id(dataset.person_by_id(head).father))
    child = await portal.open("permanent-residence-registration", head)
    await portal.fill(child["id"], {"residence_declaration": {"household_head_citizen_id": father}})
    proved = await portal.prefill(child["id"])
    assert proved["dossier"]["residence_declaration"]["relationship_to_head"] == "CHILD"
    origin = proved["provenance"]["/residence_declaration/relationship_to_head"]
    assert origin["derived_from"] == "relationship_proof.father_citizen_id"

    # Anyone else: the applicant says how they are related.
    stranger = await portal.open("permanent-residence-registration", wife)
    await portal.fill(
        stranger["id"], {"residence_declaration": {"household_head_citizen_id": father}}
    )
    asked = await portal.prefill(stranger["id"])
    assert "relationship_to_head" not in asked["dossier"]["residence_declaration"]
    assert "relationship_to_head" in _to_type(asked, "residence_declaration")
