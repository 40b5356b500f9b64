"""The procedure catalogue: shipped content, lint, the dossier schema, the public API."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import jsonschema_rs
import pytest

from dictionary import NATIONAL_PATH, load_dictionary
from dictionary.procedures import ApplicantComponent, StateComponent

REQUIRED_PROCEDURES = {
    "birth-registration",
    "death-registration",
    "marriage-registration",
    "marital-status-certificate",
    "permanent-residence-registration",
    "land-use-right-transfer",
    "personal-income-tax-finalisation",
}


def test_the_catalogue_ships_the_seven_procedures_and_lints_clean() -> None:
    dictionary = load_dictionary()
    assert set(dictionary.procedures) >= REQUIRED_PROCEDURES
    assert [p for p in dictionary.lint() if p.where.startswith("procedure")] == []
    for procedure in dictionary.procedures.values():
        assert procedure.name_vi and procedure.name_en
        assert procedure.level in ("commune", "province")
        assert procedure.result.record_type in dictionary.record_types
        assert any(isinstance(c, StateComponent) for c in procedure.components)
        for component in procedure.state_components:
            if component.basis.kind == "legal":
                assert component.basis.citation


def test_marriage_registration_checks_the_marital_status_of_both_parties() -> None:
    procedure = load_dictionary().procedure("marriage-registration")
    checks = [c for c in procedure.state_components if c.record_type == "MaritalStatusCertificate"]
    assert {c.subject.role for c in checks} == {"husband", "wife"}
    assert all(c.subject.field for c in checks)


def test_a_state_component_names_only_the_fields_it_needs() -> None:
    dictionary = load_dictionary()
    for procedure in dictionary.procedures.values():
        for component in procedure.state_components:
            record_fields = dictionary.record_type(component.record_type).latest().fields
            assert len(component.fields) <= len(record_fields)


def _copy_national(tmp_path: Path) -> Path:
    target = tmp_path / "national"
    shutil.copytree(NATIONAL_PATH, target)
    return target


def test_lint_names_every_dangling_reference_of_a_procedure(tmp_path: Path) -> None:
    root = _copy_national(tmp_path)
    path = root / "procedures" / "birth-registration.yaml"
    text = path.read_text()
    text = text.replace("record_type: Residence", "record_type: Residense")
    text = text.replace("element: civil.declarant_relationship", "element: civil.nope")
    text = text.replace(
        "fields: [citizen_id, full_name, date_of_birth, nationality, marital_status]\n"
        "    basis: {kind: legal, "
        'citation: "Law on Civil Status 2014, Art. 16; Decree 278/2025/ND-CP"}\n  - id: father',
        "fields: [citizen_id, shoe_size]\n    basis: {kind: legal, "
        'citation: "Law on Civil Status 2014, Art. 16; Decree 278/2025/ND-CP"}\n  - id: father',
    )
    path.write_text(text)
    problems = [
        p for p in load_dictionary(root).lint() if p.where == "procedure birth-registration"
    ]
    messages = " | ".join(p.message for p in problems)
    assert {p.code for p in problems} == {"dangling_reference"}
    assert "Residense" in messages
    assert "civil.nope" in messages
    assert "shoe_size" in messages


def test_a_legal_basis_without_a_citation_does_not_load(tmp_path: Path) -> None:
    from dictionary import DictionaryLoadError

    root = _copy_national(tmp_path)
    path = root / "procedures" / "death-registration.yaml"
    text = path.read_text().replace(
        'basis: {kind: legal, citation: "Law on Civil Status 2014, Art. 32; Law on Residence 2020"}',
        "basis: {kind: legal}",
    )
    path.write_text(text)
    with pytest.raises(DictionaryLoadError, match="citation"):
        load_dictionary(root)


def test_the_dossier_is_validated_by_the_dictionary_engine() -> None:
    validator = load_dictionary().dossier_validator("birth-registration")
    issues = validator.validate(
        {
            "birth_declaration": {
                "child_full_name": "Nguyễn Văn An",
                "child_date_of_birth": "2026-13-01",
                "child_sex": "X",
                "mother_citizen_id": "123",
                "declarant_relationship": "mẹ",
            },
            "medical_birth_certificate": {"certificate_number": "GCS-2026/001"},
            "strange": {},
        }
    )
    found = {(i.path, i.code) for i in issues}
    assert ("/birth_declaration/child_date_of_birth", "format.date") in found
    assert ("/birth_declaration/child_sex", "code_not_in_list") in found
    assert ("/medical_birth_certificate/issued_date", "required") in found
    assert ("/strange", "unknown_component") in found
    assert ("/mother_identity/full_name", "required") in found
    assert not any(i.path.startswith("/father_identity") for i in issues)  # optional, empty


def test_the_dossier_json_schema_is_standard_json_schema() -> None:
    schema = load_dictionary().dossier_validator("marriage-registration").json_schema
    validator = jsonschema_rs.Draft202012Validator(schema)
    assert set(schema["properties"]) == {
        "marriage_declaration",
        "husband_identity",
        "wife_identity",
        "husband_marital_status",
        "wife_marital_status",
    }
    assert not validator.is_valid({"husband_identity": {"citizen_id": 5}})


async def test_the_catalogue_is_served_publicly(client: httpx.AsyncClient) -> None:
    listed = await client.get("/v1/procedures")
    assert listed.status_code == 200
    assert {p["code"] for p in listed.json()} >= REQUIRED_PROCEDURES
    one = await client.get("/v1/procedures/birth-registration")
    assert one.status_code == 200
    body = one.json()
    assert body["name_vi"] == "Đăng ký khai sinh"
    assert body["level"] == "commune"
    assert body["result"]["record_type"] == "BirthRegistration"
    kinds = {c["id"]: c["kind"] for c in body["components"]}
    assert kinds["mother_identity"] == "state"
    assert kinds["birth_declaration"] == "applicant"
    assert "mother_identity" in body["dossier_schema"]["properties"]
    missing = await client.get("/v1/procedures/no-such-thing")
    assert missing.status_code == 404
    assert missing.json()["code"] == "unknown_procedure"


def test_every_applicant_component_names_dictionary_elements() -> None:
    dictionary = load_dictionary()
    for procedure in dictionary.procedures.values():
        for component in procedure.components:
            if isinstance(component, ApplicantComponent):
                assert all(f.element in dictionary.elements for f in component.fields)
