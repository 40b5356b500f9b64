"""Derived dossier fields (``derived_from`` in a procedure's YAML): the forms it takes, and
what lint refuses (a source it cannot find, a value that depends on itself)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from pydantic import ValidationError

from dictionary import NATIONAL_PATH, load_dictionary
from dictionary.procedures import ApplicantField, Derivation

LAND = "land-use-right-transfer"
DERIVED_CERTIFICATE = "derived_from: land_certificate.certificate_number"


def _procedure_problems(tmp_path: Path, code: str, old: str, new: str) -> list[tuple[str, str]]:
    root = tmp_path / "national"
    shutil.copytree(NATIONAL_PATH, root)
    path = root / "procedures" / f"{code}.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))
    return [
        (p.code, p.message) for p in load_dictionary(root).lint() if p.where == f"procedure {code}"
    ]


def test_a_derivation_is_a_pointer_or_a_list_of_conditional_ones() -> None:
    short = ApplicantField.model_validate(
        {"name": "n", "element": "land.certificate_number", "derived_from": "a.b"}
    )
    assert short.derived_from == (Derivation(source="a.b"),)
    one = ApplicantField.model_validate(
        {
            "name": "n",
            "element": "person.citizen_id",
            "derived_from": {
                "source": "applicant.citizen_id",
                "when": {"field": "applicant.sex", "equals": "M"},
            },
        }
    )
    assert one.derived_from[0].when is not None
    assert one.derived_from[0].when.equals == ("M",)
    with pytest.raises(ValidationError):
        Derivation.model_validate({"source": "not a pointer"})


def test_the_shipped_derivations_lint_clean() -> None:
    dictionary = load_dictionary()
    assert [p for p in dictionary.lint() if p.where.startswith("procedure")] == []
    derived = {
        code: sorted(procedure.derived_fields) for code, procedure in dictionary.procedures.items()
    }
    assert derived[LAND] == ["transfer_declaration.certificate_number"]
    assert derived["permanent-residence-registration"] == [
        "residence_declaration.address_line",
        "residence_declaration.province_code",
        "residence_declaration.relationship_to_head",
    ]
    assert derived["death-registration"] == ["death_declaration.declarant_relationship"]
    assert derived["marriage-registration"] == [
        "marriage_declaration.husband_citizen_id",
        "marriage_declaration.wife_citizen_id",
    ]
    assert derived["birth-registration"] == [
        "birth_declaration.child_date_of_birth",
        "birth_declaration.child_place_of_birth_province",
        "birth_declaration.child_sex",
        "birth_declaration.father_citizen_id",
        "birth_declaration.mother_citizen_id",
    ]


def test_lint_refuses_a_derivation_from_an_unknown_component_or_field(tmp_path: Path) -> None:
    problems = _procedure_problems(
        tmp_path, LAND, DERIVED_CERTIFICATE, "derived_from: land_certificat.certificate_number"
    )
    assert [code for code, _ in problems] == ["dangling_reference"]
    assert "land_certificat.certificate_number" in problems[0][1]
    problems = _procedure_problems(
        tmp_path / "2", LAND, DERIVED_CERTIFICATE, "derived_from: applicant.shoe_size"
    )
    assert [code for code, _ in problems] == ["dangling_reference"]


def test_lint_refuses_a_derivation_that_depends_on_itself(tmp_path: Path) -> None:
    problems = _procedure_problems(
        tmp_path,
        LAND,
        "{name: contract_number, element: land.contract_number}",
        "{name: contract_number, element: land.contract_number, "
        "derived_from: transfer_declaration.transfer_price}",
    )
    assert problems == []
    both = (
        "      - {name: contract_number, element: land.contract_number}\n"
        "      - {name: transfer_price, element: land.transfer_price}\n"
    )
    problems = _procedure_problems(
        tmp_path / "2",
        LAND,
        both,
        "      - {name: contract_number, element: land.contract_number, "
        "derived_from: transfer_declaration.transfer_price}\n"
        "      - {name: transfer_price, element: land.transfer_price, "
        "derived_from: transfer_declaration.contract_number}\n",
    )
    assert [code for code, _ in problems] == ["derivation_cycle", "derivation_cycle"]
    assert "transfer_declaration.contract_number is derived from itself" in problems[0][1]


def test_lint_refuses_a_component_pulled_by_a_value_derived_from_itself(tmp_path: Path) -> None:
    problems = _procedure_problems(
        tmp_path,
        LAND,
        "equals: land_certificate.certificate_number}",
        "equals: transfer_declaration.certificate_number}",
    )
    assert [code for code, _ in problems] == ["derivation_cycle"]
    assert "land_certificate" in problems[0][1]
