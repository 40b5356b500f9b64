"""Code lists in time: the version in force on a date, and crosswalks between versions."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest

from dictionary.loader import read_yaml
from tests.dictionary.fixtures.engine import FIXTURE_PATH, fixture_dictionary, valid_person


def test_as_of_returns_the_version_in_force_with_inclusive_end_dates() -> None:
    province = fixture_dictionary().codelists["province"]
    assert province.as_of(date(2003, 12, 31)) is None
    assert province.as_of(date(2004, 1, 1)).version == "2004"  # type: ignore[union-attr]
    assert province.as_of(date(2025, 6, 30)).version == "2004"  # type: ignore[union-attr]
    assert province.as_of(date(2025, 7, 1)).version == "2025"  # type: ignore[union-attr]
    assert province.as_of(date(2040, 1, 1)).version == "2025"  # type: ignore[union-attr]


def test_the_2025_merger_takes_63_provinces_to_34() -> None:
    province = fixture_dictionary().codelists["province"]
    before, after = province.version("2004"), province.version("2025")
    assert (len(before.codes), len(after.codes)) == (63, 34)
    targets = [province.crosswalk(code, "2004", "2025") for code in sorted(before.codes)]
    assert all(len(t) == 1 for t in targets)
    assert {t[0] for t in targets} == after.codes


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("01", "01"),
        ("02", "08"),
        ("24", "24"),
        ("27", "24"),
        ("77", "79"),
        ("79", "79"),
        ("15", "15"),
        ("10", "15"),
    ],
)
def test_crosswalk_maps_an_old_province_to_its_new_unit(old: str, new: str) -> None:
    province = fixture_dictionary().codelists["province"]
    assert province.crosswalk(old) == (new,)
    assert province.crosswalk(old, from_version="2004") == (new,)


def test_crosswalk_agrees_with_the_reference_table_row_by_row() -> None:
    # The fixture was generated from this table; this keeps the two honest.
    table = Path("/work/shared/data/provinces-2025.csv")
    if not table.exists():
        pytest.skip("reference table not present")
    province = fixture_dictionary().codelists["province"]
    with table.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            assert province.crosswalk(row["old_code"]) == (row["new_code"],)


def test_a_split_fans_out_and_chains_across_versions() -> None:
    district = fixture_dictionary().codelists["district"]
    assert district.crosswalk("001", "A", "B") == ("011", "012")
    assert district.crosswalk("001", "A", "C") == ("011",)  # 011 and 012 merge again in C
    assert district.crosswalk("003", "A", "C") == ("020",)
    assert district.crosswalk("002") == ("020",)  # default: from the version before the last


def test_crosswalk_of_an_unknown_code_is_empty_and_backwards_is_refused() -> None:
    district = fixture_dictionary().codelists["district"]
    assert district.crosswalk("999", "A", "C") == ()
    with pytest.raises(ValueError, match="forward"):
        district.crosswalk("011", "C", "A")
    with pytest.raises(KeyError):
        district.crosswalk("001", "Z")


def test_codes_are_checked_against_the_list_in_force_on_the_as_of_date() -> None:
    validator = fixture_dictionary().validator("Person")
    bac_ninh_before = valid_person(place_of_birth_province="27")
    assert validator.validate(bac_ninh_before, as_of=date(2024, 1, 1)) == []
    issues = validator.validate(bac_ninh_before, as_of=date(2025, 7, 1))
    assert [(i.path, i.code, i.element) for i in issues] == [
        ("/place_of_birth_province", "code_not_in_list", "common.province_code")
    ]
    assert "version 2025 in force on 2025-07-01" in issues[0].message
    assert (
        validator.validate(valid_person(place_of_birth_province="24"), as_of=date(2024, 1, 1)) == []
    )
    assert (
        validator.validate(valid_person(place_of_birth_province="24"), as_of=date(2026, 1, 1)) == []
    )


def test_a_date_with_no_version_in_force_accepts_no_code() -> None:
    validator = fixture_dictionary().validator("Person")
    issues = validator.validate(valid_person(), as_of=date(2003, 1, 1))
    assert [(i.path, i.code) for i in issues] == [("/place_of_birth_province", "code_not_in_list")]
    assert "no version in force" in issues[0].message


def test_the_exported_schema_carries_the_codes_in_force_as_enum() -> None:
    validator = fixture_dictionary().validator("Person")
    then = validator.json_schema_as_of(date(2024, 1, 1))["properties"]["place_of_birth_province"]
    now = validator.json_schema["properties"]["place_of_birth_province"]
    assert (len(then["enum"]), then["x-codelist-version"]) == (63, "2004")
    assert (len(now["enum"]), now["x-codelist-version"]) == (34, "2025")


def test_yaml_keeps_dates_and_yes_no_words_as_text(tmp_path: Path) -> None:
    file = tmp_path / "x.yaml"
    file.write_text("a: 2025-07-01\nb: NO\nc: on\nd: true\ne: 01\n", encoding="utf-8")
    assert read_yaml(file) == {"a": "2025-07-01", "b": "NO", "c": "on", "d": True, "e": 1}


def test_an_unquoted_numeric_code_is_a_load_error_not_a_silent_change(tmp_path: Path) -> None:
    from dictionary import DictionaryLoadError, load_dictionary

    (tmp_path / "codelists").mkdir()
    (tmp_path / "codelists" / "bad.yaml").write_text(
        "id: bad\nversions:\n  - version: '1'\n    effective_from: 2020-01-01\n"
        "    entries:\n      - {code: 01, label_vi: Một}\n",
        encoding="utf-8",
    )
    with pytest.raises(DictionaryLoadError) as caught:
        load_dictionary(tmp_path)
    assert (
        "codelists/bad.yaml: versions.0.entries.0.code: Input should be a valid string"
        in caught.value.problems
    )
    assert read_yaml(FIXTURE_PATH / "codelists" / "sex.yaml")["id"] == "sex"
