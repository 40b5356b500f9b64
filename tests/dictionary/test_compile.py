"""Compiled validators: every error code, every error of a record, paths and elements."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

import pytest

from dictionary import (
    Dictionary,
    RecordValidator,
    UnknownRecordType,
    UnknownVersion,
    ValidationIssue,
)
from tests.dictionary.fixtures.engine import fixture_dictionary, tax_codes, valid_person


@pytest.fixture
def dictionary() -> Dictionary:
    return fixture_dictionary()


def codes(issues: list[ValidationIssue]) -> list[tuple[str, str]]:
    return [(issue.path, issue.code) for issue in issues]


def valid_survey(**changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "reference": "S0042",
        "respondent_age": 41,
        "interview_date": "2024-01-31",
        "tags": ["ok"],
    }
    record.update(changes)
    return record


def valid_parcel(**changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "parcel_ref": "S0001",
        "province_code": "79",
        "area_m2": 120.5,
        "owner_tax_code": tax_codes(1)[0],
    }
    record.update(changes)
    return record


def test_a_valid_record_has_no_issues(dictionary: Dictionary) -> None:
    assert dictionary.validator("Person").validate(valid_person()) == []
    assert dictionary.validator("SurveyResponse").validate(valid_survey()) == []
    assert dictionary.validator("LandParcel").validate(valid_parcel()) == []


@pytest.mark.parametrize(
    ("record_type", "record", "expected"),
    [
        ("Person", valid_person(full_name=None), [("/full_name", "required")]),
        ("Person", valid_person(is_deceased="yes"), [("/is_deceased", "type")]),
        ("Person", valid_person(nickname="An"), [("/nickname", "unknown_field")]),
        ("Person", valid_person(citizen_id="003090012345"), [("/citizen_id", "format.citizen_id")]),
        ("Person", valid_person(full_name="Nguyen 2"), [("/full_name", "format.person_name")]),
        ("Person", valid_person(phone="0112345678"), [("/phone", "format.phone")]),
        ("Person", valid_person(date_of_birth="1990-02-30"), [("/date_of_birth", "format.date")]),
        ("Person", valid_person(sex="X"), [("/sex", "code_not_in_list")]),
        (
            "LandParcel",
            valid_parcel(owner_tax_code="0100233480"),
            [("/owner_tax_code", "format.tax_code")],
        ),
        ("LandParcel", valid_parcel(level="EXTREME"), [("/level", "enum")]),
        ("SurveyResponse", valid_survey(reference="S42"), [("/reference", "pattern")]),
        ("SurveyResponse", valid_survey(tags=["x"]), [("/tags/0", "min_length")]),
        ("SurveyResponse", valid_survey(tags=["x" * 21]), [("/tags/0", "max_length")]),
        ("SurveyResponse", valid_survey(respondent_age=-1), [("/respondent_age", "minimum")]),
        ("SurveyResponse", valid_survey(respondent_age=131), [("/respondent_age", "maximum")]),
        ("SurveyResponse", valid_survey(tags=[]), [("/tags", "min_items")]),
        (
            "SurveyResponse",
            valid_survey(line_items=[{"label": "ab"}] * 6),
            [("/line_items", "max_items")],
        ),
        (
            "Person",
            valid_person(citizen_id="001190012345"),
            [("/citizen_id", "rule.citizen_id_matches_birth_year")],
        ),
    ],
)
def test_each_error_code(
    dictionary: Dictionary,
    record_type: str,
    record: dict[str, Any],
    expected: list[tuple[str, str]],
) -> None:
    assert codes(dictionary.validator(record_type).validate(record)) == expected


def test_every_error_of_a_record_is_reported_with_its_element(dictionary: Dictionary) -> None:
    record = {
        "reference": "S42",
        "respondent_age": 131.5,
        "interview_date": "2024-02-30",
        "tags": [],
        "level": "NONE",
        "income": -1,
        "surveyor": "me",
        "line_items": [{"label": "ok", "quantity": 0}, {"quantity": 2}, {"label": "ok", "x": 1}],
    }
    issues = dictionary.validator("SurveyResponse").validate(record)
    assert [(i.path, i.element, i.code) for i in issues] == [
        ("/income", "common.amount", "minimum"),
        ("/interview_date", "common.interview_date", "format.date"),
        ("/level", "common.level", "enum"),
        ("/line_items/0/quantity", "common.quantity", "minimum"),
        ("/line_items/1/label", "common.label", "required"),
        ("/line_items/2/x", None, "unknown_field"),
        ("/reference", "common.reference", "pattern"),
        ("/respondent_age", "common.age", "maximum"),
        ("/respondent_age", "common.age", "type"),
        ("/surveyor", None, "unknown_field"),
        ("/tags", "common.label", "min_items"),
    ]
    assert all(issue.message for issue in issues)


def test_issues_inside_a_list_of_objects_point_at_the_item(dictionary: Dictionary) -> None:
    validator = dictionary.validator("Household")
    record = {
        "household_id": "0123456789",
        "head_citizen_id": "001090012345",
        "address_line": "Số 1",
        "province_code": "01",
        "members": [
            {"citizen_id": "001090012345", "relationship_to_head": "HEAD"},
            {"citizen_id": "003090012345", "relationship_to_head": "COUSIN"},
        ],
    }
    issues = validator.validate(record)
    assert [(i.path, i.element, i.code) for i in issues] == [
        ("/members/1/citizen_id", "person.citizen_id", "format.citizen_id"),
        ("/members/1/relationship_to_head", "household.relationship", "code_not_in_list"),
    ]


def test_a_record_that_is_not_an_object_is_a_type_error(dictionary: Dictionary) -> None:
    validator = dictionary.validator("Person")
    for record in ([valid_person()], "Nguyễn Văn An", None, 3):
        assert codes(validator.validate(record)) == [("", "type")]


def test_a_rule_is_skipped_when_one_of_its_fields_failed_the_schema(
    dictionary: Dictionary,
) -> None:
    validator = dictionary.validator("Person")
    record = valid_person(citizen_id="001190012345", date_of_birth="1990-13-01")
    assert codes(validator.validate(record)) == [("/date_of_birth", "format.date")]


def test_rules_are_reported_alongside_schema_errors(dictionary: Dictionary) -> None:
    record = valid_person(citizen_id="001190012345", phone="12")
    assert codes(dictionary.validator("Person").validate(record)) == [
        ("/citizen_id", "rule.citizen_id_matches_birth_year"),
        ("/phone", "format.phone"),
    ]


def test_nfd_strings_are_normalised_before_length_checks(
    dictionary: Dictionary,
) -> None:
    validator = dictionary.validator("SurveyResponse")
    # "Ấn" is 2 characters in NFC and 4 in NFD: max 20 holds only after normalisation.
    nfd_tag = "A\u0302\u0301n" * 5
    assert len(nfd_tag) == 20
    assert validator.validate(valid_survey(tags=[nfd_tag + "A\u0302\u0301n"])) == []
    assert validator.validate(valid_survey(tags=[nfd_tag * 2])) == []  # 20 in NFC
    assert codes(validator.validate(valid_survey(tags=[nfd_tag * 2 + "A\u0302\u0301n"]))) == [
        ("/tags/0", "max_length")
    ]


def test_the_input_record_is_never_modified(dictionary: Dictionary) -> None:
    record = valid_person(full_name="Nguye\u0302\u0303n Va\u0306n An", extra=1)
    before = copy.deepcopy(record)
    dictionary.validator("Person").validate(record)
    assert record == before


def test_the_json_schema_is_closed_2020_12_with_required_fields(dictionary: Dictionary) -> None:
    schema = dictionary.validator("Person", "1.0.0").json_schema
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["additionalProperties"] is False
    assert schema["required"] == ["citizen_id", "full_name", "date_of_birth", "sex"]
    assert schema["properties"]["previous_names"]["type"] == "array"
    assert schema["properties"]["date_of_birth"]["format"] == "date"
    assert schema["x-version-id"] == dictionary.record_version("Person", "1.0.0").id
    schema["properties"].clear()  # a copy: the validator keeps its own
    assert dictionary.validator("Person", "1.0.0").json_schema["properties"]


def test_validators_are_cached_per_version(dictionary: Dictionary) -> None:
    latest = dictionary.validator("Person")
    assert latest is dictionary.validator("Person", "1.1.0")
    assert latest is not dictionary.validator("Person", "1.0.0")
    assert isinstance(latest, RecordValidator)
    assert (latest.record_type, latest.version) == ("Person", "1.1.0")


def test_unknown_record_types_and_versions_are_named_errors(dictionary: Dictionary) -> None:
    with pytest.raises(UnknownRecordType):
        dictionary.validator("Spaceship")
    with pytest.raises(UnknownVersion):
        dictionary.validator("Person", "9.9.9")


def test_field_types_name_each_fields_data_type(dictionary: Dictionary) -> None:
    assert dictionary.validator("Person").field_types == {
        "citizen_id": "string",
        "full_name": "string",
        "date_of_birth": "date",
        "sex": "code",
        "place_of_birth_province": "code",
        "is_deceased": "boolean",
        "date_of_death": "date",
        "phone": "string",
        "previous_names": "list",
        "household_id": "string",
    }


def test_examples_are_exposed_on_the_version(dictionary: Dictionary) -> None:
    examples = dictionary.record_version("Person", "1.0.0").examples
    assert len(examples.valid) == 2
    assert examples.invalid[0].errors == ("rule.citizen_id_matches_birth_year",)
    assert examples.valid[0]["date_of_birth"] == "1990-05-01"  # a string, as JSON has it


def test_issues_serialise_to_the_api_shape(dictionary: Dictionary) -> None:
    issue = dictionary.validator("Person").validate(valid_person(sex="X"))[0]
    assert issue.as_dict() == {
        "path": "/sex",
        "element": "person.sex",
        "code": "code_not_in_list",
        "message": issue.message,
    }


def test_as_of_defaults_to_today(dictionary: Dictionary) -> None:
    validator = dictionary.validator("Person")
    record = valid_person(place_of_birth_province="27")
    assert validator.validate(record) == validator.validate(record, as_of=date.today())


def test_list_items_may_be_written_as_bare_properties() -> None:
    from dictionary import Element

    element = Element.model_validate(
        {
            "id": "household.members",
            "type": "list",
            "sensitivity": "personal",
            "items": {"citizen_id": {"element": "person.citizen_id", "required": True}},
        }
    )
    assert element.items is not None and not isinstance(element.items, str)
    assert element.items.properties["citizen_id"].required is True
