"""Cross-field rules: one generic kind each, declared in YAML, error code rule.<id>."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from dictionary import Dictionary, RecordValidator, ValidationIssue
from tests.dictionary.fixtures.engine import (
    fixture_dictionary,
    record_type,
    valid_person,
    version,
    with_record_type,
)


def codes(issues: list[ValidationIssue]) -> list[tuple[str, str]]:
    return [(issue.path, issue.code) for issue in issues]


@pytest.fixture
def dictionary() -> Dictionary:
    return fixture_dictionary()


# -- citizen_id_matches_birth


@pytest.mark.parametrize(
    ("citizen_id", "born", "sex"),
    [
        ("001090012345", "1990-05-01", "M"),
        ("001190012345", "1990-05-01", "F"),
        ("079203001234", "2003-11-20", "M"),
        ("079303001234", "2003-11-20", "F"),
        ("079400001234", "2100-01-01", "M"),
        ("079900001234", "2300-12-31", "F"),
    ],
)
def test_an_id_whose_century_sex_and_year_match_the_person_passes(
    dictionary: Dictionary, citizen_id: str, born: str, sex: str
) -> None:
    record = valid_person(citizen_id=citizen_id, date_of_birth=born, sex=sex)
    assert dictionary.validator("Person").validate(record) == []


@pytest.mark.parametrize(
    ("citizen_id", "born", "sex", "says"),
    [
        ("001091012345", "1990-05-01", "M", "birth year of 1991"),  # year digits
        ("001290012345", "1990-05-01", "M", "birth year of 2090"),  # century digit
        ("001190012345", "1990-05-01", "M", "encodes sex F"),  # sex digit
        ("079203001234", "2003-11-20", "F", "encodes sex M"),
        ("079003001234", "2003-11-20", "M", "birth year of 1903"),
    ],
)
def test_an_id_that_disagrees_with_birth_date_or_sex_breaks_the_rule(
    dictionary: Dictionary, citizen_id: str, born: str, sex: str, says: str
) -> None:
    record = valid_person(citizen_id=citizen_id, date_of_birth=born, sex=sex)
    issues = dictionary.validator("Person").validate(record)
    assert codes(issues) == [("/citizen_id", "rule.citizen_id_matches_birth_year")]
    assert issues[0].element == "person.citizen_id"
    assert says in issues[0].message


def test_without_a_sex_field_only_century_and_year_are_checked(dictionary: Dictionary) -> None:
    rt = record_type(
        "Birth",
        "NONE",
        [
            version(
                "1.0.0",
                [
                    {"name": "citizen_id", "element": "person.citizen_id", "required": True},
                    {"name": "born", "element": "person.date_of_birth", "required": True},
                ],
                rules=[
                    {
                        "id": "id_matches",
                        "kind": "citizen_id_matches_birth",
                        "citizen_id": "citizen_id",
                        "date_of_birth": "born",
                    }
                ],
            )
        ],
    )
    validator = with_record_type(dictionary, rt).validator("Birth")
    assert validator.validate({"citizen_id": "001190012345", "born": "1990-01-01"}) == []
    assert validator.validate({"citizen_id": "001090012345", "born": "1990-01-01"}) == []
    assert codes(validator.validate({"citizen_id": "001290012345", "born": "1990-01-01"})) == [
        ("/citizen_id", "rule.id_matches")
    ]


# -- date_order


def test_a_death_before_birth_breaks_date_order(dictionary: Dictionary) -> None:
    validator = dictionary.validator("Person")
    issues = validator.validate(valid_person(date_of_death="1990-04-30"))
    assert codes(issues) == [("/date_of_death", "rule.death_not_before_birth")]
    assert issues[0].element == "person.date_of_death"


def test_date_order_accepts_the_same_day_and_later_days(dictionary: Dictionary) -> None:
    validator = dictionary.validator("Person")
    assert validator.validate(valid_person(date_of_death="1990-05-01")) == []
    assert validator.validate(valid_person(date_of_death="2020-01-01")) == []


def test_a_rule_whose_field_is_absent_is_skipped(dictionary: Dictionary) -> None:
    assert dictionary.validator("Person").validate(valid_person()) == []  # no date_of_death


def strict_order_validator(dictionary: Dictionary) -> RecordValidator:
    rt = record_type(
        "Interval",
        "NONE",
        [
            version(
                "1.0.0",
                [
                    {"name": "ref", "element": "common.reference", "required": True},
                    {"name": "start", "element": "common.registration_date", "required": True},
                    {"name": "end", "element": "common.interview_date", "required": False},
                ],
                rules=[
                    {
                        "id": "ends_after_start",
                        "kind": "date_order",
                        "earlier": "start",
                        "later": "end",
                        "strict": True,
                    }
                ],
            )
        ],
    )
    return with_record_type(dictionary, rt).validator("Interval")


def test_a_strict_date_order_refuses_the_same_day(dictionary: Dictionary) -> None:
    validator = strict_order_validator(dictionary)
    same = {"ref": "S0001", "start": "2024-01-01", "end": "2024-01-01"}
    assert codes(validator.validate(same)) == [("/end", "rule.ends_after_start")]
    assert validator.validate({**same, "end": "2024-01-02"}) == []


# -- minimum_age


def applicant(**changes: Any) -> dict[str, Any]:
    record = {
        "citizen_id": "001304001234",
        "date_of_birth": "2004-03-01",
        "sex": "M",
        "application_date": "2024-03-01",
    }
    record.update(changes)
    return record


def test_a_man_may_marry_from_his_20th_birthday(dictionary: Dictionary) -> None:
    validator = dictionary.validator("MarriageApplicant")
    assert validator.validate(applicant(), as_of=date(2024, 3, 1)) == []
    issues = validator.validate(applicant(application_date="2024-02-29"), as_of=date(2024, 3, 1))
    assert codes(issues) == [("/date_of_birth", "rule.old_enough_to_marry")]
    assert "is 19" in issues[0].message and "at least 20" in issues[0].message


def test_a_woman_may_marry_from_her_18th_birthday(dictionary: Dictionary) -> None:
    validator = dictionary.validator("MarriageApplicant")
    woman = applicant(citizen_id="001306001234", date_of_birth="2006-03-01", sex="F")
    assert validator.validate(woman, as_of=date(2024, 3, 1)) == []
    too_young = {**woman, "application_date": "2024-02-28"}
    assert codes(validator.validate(too_young, as_of=date(2024, 3, 1))) == [
        ("/date_of_birth", "rule.old_enough_to_marry")
    ]


def test_minimum_age_without_an_at_field_counts_on_the_as_of_date(
    dictionary: Dictionary,
) -> None:
    validator = dictionary.validator("MarriageApplicant")
    record = applicant(citizen_id="001306001234", date_of_birth="2006-03-01", sex="F")
    assert codes(validator.validate(record, as_of=date(2024, 2, 29))) == [
        ("/date_of_birth", "rule.adult_today")
    ]
    assert validator.validate(record, as_of=date(2024, 3, 1)) == []


def test_registration_age_rules_fire_per_spouse(dictionary: Dictionary) -> None:
    example = dictionary.record_version("MarriageRegistration").examples.valid[0]
    validator = dictionary.validator("MarriageRegistration")
    young_husband = {
        **example,
        "husband_citizen_id": "027305001111",
        "husband_date_of_birth": "2005-02-02",
    }
    assert codes(validator.validate(young_husband, as_of=date(2024, 6, 1))) == [
        ("/husband_date_of_birth", "rule.husband_minimum_age")
    ]


# -- compare


def parcel(**changes: Any) -> dict[str, Any]:
    record = {
        "parcel_ref": "S0001",
        "province_code": "79",
        "area_m2": 100,
        "owner_tax_code": "0100233488",
    }
    record.update(changes)
    return record


def test_compare_against_a_value(dictionary: Dictionary) -> None:
    validator = dictionary.validator("LandParcel")
    assert validator.validate(parcel(area_m2=0.5)) == []
    for area in (0, -3.5):
        issues = validator.validate(parcel(area_m2=area))
        assert codes(issues) == [("/area_m2", "rule.area_positive")]
        assert issues[0].message == f"area_m2 ({area!r}) must be > 0."


def test_compare_against_another_field(dictionary: Dictionary) -> None:
    validator = dictionary.validator("LandParcel")
    assert validator.validate(parcel(built_area_m2=100)) == []
    assert codes(validator.validate(parcel(built_area_m2=100.01))) == [
        ("/built_area_m2", "rule.built_within_parcel")
    ]


def test_several_broken_rules_are_all_reported(dictionary: Dictionary) -> None:
    issues = dictionary.validator("LandParcel").validate(parcel(area_m2=-1, built_area_m2=5))
    assert codes(issues) == [
        ("/area_m2", "rule.area_positive"),
        ("/built_area_m2", "rule.built_within_parcel"),
    ]
