"""Lint: what ``declare-once dictionary check`` fails on, and the summary it prints."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

from dictionary import Dictionary, Examples, InvalidExample, LintProblem, lint_dictionary
from tests.dictionary.fixtures.engine import FIXTURE_PATH, fixture_dictionary, valid_person


def found(problems: list[LintProblem]) -> list[tuple[str, str]]:
    return [(p.code, p.where) for p in problems]


def test_the_fixture_dictionary_is_clean() -> None:
    assert fixture_dictionary().lint() == []
    assert lint_dictionary(FIXTURE_PATH) == []


def test_an_element_without_a_definition_fails() -> None:
    dictionary = fixture_dictionary()
    element = dictionary.elements["person.phone"]
    dictionary.elements["person.phone"] = element.model_copy(update={"definition_en": " "})
    dictionary.elements["person.sex"] = dictionary.elements["person.sex"].model_copy(
        update={"definition_vi": None}
    )
    assert found(dictionary.lint()) == [
        ("missing_definition", "element person.sex"),
        ("missing_definition", "element person.phone"),
    ]


def test_a_field_referring_to_an_unknown_element_fails() -> None:
    dictionary = fixture_dictionary()
    person = dictionary.record_types["Person"]
    first = person.versions[0]
    fields = (*first.fields[:-1], first.fields[-1].model_copy(update={"element": "person.ghost"}))
    broken = first.model_copy(update={"fields": fields})
    dictionary.record_types["Person"] = person.model_copy(
        update={"versions": (broken, *person.versions[1:])}
    )
    problems = dictionary.lint()
    assert found(problems) == [("dangling_reference", "record Person 1.0.0")]
    assert "field previous_names refers to unknown element 'person.ghost'" in problems[0].message


def test_an_element_referring_to_an_unknown_code_list_or_item_fails() -> None:
    dictionary = fixture_dictionary()
    sex = dictionary.elements["person.sex"]
    dictionary.elements["person.sex"] = sex.model_copy(update={"codelist": "gender"})
    members = dictionary.elements["household.members"]
    dictionary.elements["household.members"] = members.model_copy(update={"items": "person.ghost"})
    problems = dictionary.lint()
    assert ("dangling_reference", "element person.sex") in found(problems)
    assert ("dangling_reference", "element household.members") in found(problems)
    # Record versions using them are flagged as not checked, not failed twice over.
    assert ("not_checked", "record Person 1.0.0") in found(problems)
    assert ("not_checked", "record Household 1.0.0") in found(problems)
    assert all(p.code in {"dangling_reference", "not_checked"} for p in problems)


def test_a_code_list_version_without_an_effective_date_fails() -> None:
    dictionary = fixture_dictionary()
    sex = dictionary.codelists["sex"]
    undated = sex.versions[0].model_copy(update={"effective_from": None})
    dictionary.codelists["sex"] = sex.model_copy(update={"versions": (undated,)})
    assert ("missing_effective_date", "codelist sex version 1") in found(dictionary.lint())


def test_overlapping_versions_and_incomplete_crosswalks_fail() -> None:
    dictionary = fixture_dictionary()
    province = dictionary.codelists["province"]
    old, new = province.versions
    crosswalk = dict(new.crosswalk_from_previous or {})
    del crosswalk["02"]
    crosswalk["03"] = ("08",)
    crosswalk["04"] = ("99",)
    dictionary.codelists["province"] = province.model_copy(
        update={
            "versions": (
                old.model_copy(update={"effective_to": date(2025, 7, 1)}),  # one day too long
                new.model_copy(update={"crosswalk_from_previous": crosswalk}),
            )
        }
    )
    assert found(dictionary.lint()) == [
        ("codelist_overlap", "codelist province"),
        ("crosswalk_unknown_code", "codelist province version 2025"),
        ("crosswalk_unknown_target", "codelist province version 2025"),
        ("crosswalk_incomplete", "codelist province version 2025"),
    ]


def test_a_history_that_breaks_its_own_compatibility_mode_fails() -> None:
    dictionary = fixture_dictionary()
    person = dictionary.record_types["Person"]
    dictionary.record_types["Person"] = person.model_copy(update={"compatibility": "FULL"})
    problems = dictionary.lint()
    assert found(problems) == [("incompatible_history", "record Person 1.1.0")]
    assert "field_added household_id" in problems[0].message


def test_examples_that_do_not_behave_as_declared_fail() -> None:
    dictionary = fixture_dictionary()
    person = dictionary.record_types["Person"]
    latest = person.versions[-1]
    examples = Examples(
        valid=(valid_person(sex="X"),),
        invalid=(
            InvalidExample(record=valid_person(), errors=("required",)),
            InvalidExample(record=valid_person(sex="X", phone="1"), errors=("code_not_in_list",)),
        ),
    )
    dictionary.record_types["Person"] = person.model_copy(
        update={"versions": (person.versions[0], latest.model_copy(update={"examples": examples}))}
    )
    problems = dictionary.lint()
    assert [(p.code, p.where) for p in problems] == [
        ("example_invalid", "record Person 1.1.0"),
        ("example_wrong_errors", "record Person 1.1.0"),
        ("example_wrong_errors", "record Person 1.1.0"),
    ]
    assert problems[2].message == (
        "invalid example 1 gives ['code_not_in_list', 'format.phone'], "
        "declared ['code_not_in_list']"
    )
    assert str(problems[0]).startswith("record Person 1.1.0: valid example 0 does not validate")


def test_a_rule_on_a_field_of_the_wrong_type_fails() -> None:
    dictionary = fixture_dictionary()
    person = dictionary.record_types["Person"]
    first = person.versions[0]
    rules = (first.rules[0], first.rules[1].model_copy(update={"later": "full_name"}))
    dictionary.record_types["Person"] = person.model_copy(
        update={"versions": (first.model_copy(update={"rules": rules}), *person.versions[1:])}
    )
    assert ("rule_field_type", "record Person 1.0.0") in found(dictionary.lint())


def test_content_that_does_not_load_is_reported_per_cause(tmp_path: Path) -> None:
    content = tmp_path / "content"
    shutil.copytree(FIXTURE_PATH, content)
    person = content / "elements" / "person.yaml"
    person.write_text(
        person.read_text(encoding="utf-8").replace("type: boolean", "type: yes_or_no"),
        encoding="utf-8",
    )
    (content / "records" / "Broken.yaml").write_text("name: [unclosed\n", encoding="utf-8")
    problems = lint_dictionary(content)
    assert [p.code for p in problems] == ["load_error", "load_error"]
    assert problems[0].message.startswith(
        "elements/person.yaml: elements[person.is_deceased]: type:"
    )
    assert problems[1].message.startswith("records/Broken.yaml: not readable YAML")


def test_a_namespace_or_file_name_mismatch_is_a_lint_problem(tmp_path: Path) -> None:
    content = tmp_path / "content"
    shutil.copytree(FIXTURE_PATH, content)
    (content / "elements" / "tax.yaml").rename(content / "elements" / "taxes.yaml")
    (content / "codelists" / "sex.yaml").rename(content / "codelists" / "gender.yaml")
    text = (content / "elements" / "taxes.yaml").read_text(encoding="utf-8")
    (content / "elements" / "taxes.yaml").write_text(
        text.replace("namespace: tax\n", ""), encoding="utf-8"
    )
    assert found(lint_dictionary(content)) == [
        ("namespace_mismatch", "elements/taxes.yaml"),
        ("file_name_mismatch", "codelists/gender.yaml"),
    ]


def test_the_summary_counts_versions_fields_and_examples() -> None:
    rows = {row.name: row for row in fixture_dictionary().summary()}
    assert sorted(rows) == [
        "Household",
        "LandParcel",
        "MarriageApplicant",
        "MarriageRegistration",
        "Person",
        "SurveyResponse",
    ]
    person = rows["Person"].as_dict()
    assert person == {
        "name": "Person",
        "owner_system": "population",
        "compatibility": "BACKWARD",
        "versions": 2,
        "latest": "1.1.0",
        "fields": 10,
        "rules": 2,
        "valid_examples": 3,
        "invalid_examples": 4,
        "examples": 7,
    }


def test_a_dictionary_can_be_built_from_models_without_files() -> None:
    base = fixture_dictionary()
    empty = Dictionary(base.elements, base.codelists, {})
    assert empty.lint() == [] and empty.summary() == []
