"""National formats: citizen ID, tax code, phone, person names, admin-unit code shapes."""

from __future__ import annotations

import unicodedata

import pytest
from stdnum.vn import mst

from dictionary.formats import (
    HUB_FORMATS,
    NATIONAL_FORMATS,
    PRE_2025_PROVINCE_CODES,
    century_and_sex,
    decode_citizen_id,
    is_citizen_id,
    is_person_name,
    is_person_name_in_nfc,
    is_phone,
    is_tax_code,
)
from tests.dictionary.fixtures.engine import fixture_dictionary, tax_codes, valid_person


def test_the_pre_2025_province_list_has_63_codes_including_every_post_2025_one() -> None:
    assert len(PRE_2025_PROVINCE_CODES) == 63
    post_2025 = fixture_dictionary().codelists["province"].version("2025").codes
    assert len(post_2025) == 34
    assert post_2025 <= PRE_2025_PROVINCE_CODES


@pytest.mark.parametrize(
    "value",
    [
        "001090012345",  # Hà Nội, male, 1990
        "079303001234",  # Hồ Chí Minh City, female, 2003
        "002185000001",  # Hà Giang: merged into Tuyên Quang in 2025, still a valid prefix
        "027098001111",  # Bắc Ninh's pre-2025 code
        "096999999999",  # Cà Mau, digit 9 (24th century, female) is structurally valid
    ],
)
def test_citizen_ids_with_a_pre_2025_province_prefix_are_valid(value: str) -> None:
    assert is_citizen_id(value)
    assert NATIONAL_FORMATS["citizen_id"](value)


@pytest.mark.parametrize(
    "value",
    [
        "003090012345",  # 03 was never a province code
        "097090012345",  # beyond the list
        "000090012345",
        "101090012345",  # the first digit of a 3-digit province code is 0
        "00109001234",  # 11 digits
        "0010900123456",  # 13 digits
        "00109001234A",
        "００１０９００１２３４５",  # fullwidth digits are not ASCII digits
        "",
    ],
)
def test_citizen_ids_that_are_malformed_or_have_an_unknown_province_are_invalid(
    value: str,
) -> None:
    assert not is_citizen_id(value)


@pytest.mark.parametrize(
    ("digit", "century", "sex"),
    [
        (0, 1900, "M"),
        (1, 1900, "F"),
        (2, 2000, "M"),
        (3, 2000, "F"),
        (4, 2100, "M"),
        (5, 2100, "F"),
        (6, 2200, "M"),
        (7, 2200, "F"),
        (8, 2300, "M"),
        (9, 2300, "F"),
    ],
)
def test_the_century_and_sex_digit_follows_circular_59_2021(
    digit: int, century: int, sex: str
) -> None:
    assert century_and_sex(digit) == (century, sex)


def test_a_citizen_id_decodes_into_province_century_sex_and_year() -> None:
    parts = decode_citizen_id("079303001234")
    assert parts is not None
    assert (parts.province_code, parts.birth_century, parts.sex, parts.birth_year) == (
        "79",
        2000,
        "F",
        2003,
    )
    assert parts.serial == "001234"
    assert decode_citizen_id("003090012345") is None


def test_tax_codes_with_a_correct_check_digit_are_valid() -> None:
    codes = tax_codes(25)
    assert all(mst.is_valid(code) for code in codes)
    assert all(is_tax_code(code) for code in codes)
    assert is_tax_code("0100233488")  # python-stdnum's own example


def test_a_tax_code_with_a_wrong_check_digit_is_invalid() -> None:
    for code in tax_codes(10):
        wrong = code[:9] + str((int(code[9]) + 1) % 10)
        assert not is_tax_code(wrong), wrong


def test_a_branch_tax_code_needs_the_dash_form() -> None:
    parent = tax_codes(1)[0]
    assert is_tax_code(f"{parent}-001")
    assert not is_tax_code(f"{parent}001")  # 13 digits without the dash
    assert not is_tax_code(f"{parent}-000")  # branch 000 does not exist
    assert not is_tax_code(f"{parent}-01")
    assert not is_tax_code(f"{parent[:5]} {parent[5:]}")  # no separators other than the dash


def test_since_2025_a_citizen_id_is_accepted_as_a_tax_code() -> None:
    assert is_tax_code("001090012345")
    assert not is_tax_code("003090012345")  # still checked as a citizen ID


@pytest.mark.parametrize(
    "value",
    [
        "0912345678",
        "0381234567",
        "0561234567",
        "0701234567",
        "0891234567",
        "+84912345678",
        "02438253535",
        "+842438253535",
    ],
)
def test_vietnamese_phone_numbers_are_valid(value: str) -> None:
    assert is_phone(value)


@pytest.mark.parametrize(
    "value",
    [
        "0112345678",
        "0412345678",
        "091234567",
        "09123456789",
        "84912345678",
        "+8491234567",
        "0912 345 678",
        "0912345678\n",
    ],
)
def test_other_phone_numbers_are_invalid(value: str) -> None:
    assert not is_phone(value)


NAMES = ["Nguyễn Thị Ánh", "Trần Văn Đức", "Lê Hoàng Yến", "H'Hen Niê", "Đặng Thị Hồng-Nhung"]


@pytest.mark.parametrize("name", NAMES)
def test_a_person_name_validates_whether_it_arrives_as_nfc_or_nfd(name: str) -> None:
    nfc = unicodedata.normalize("NFC", name)
    nfd = unicodedata.normalize("NFD", name)
    assert nfc != nfd or name.isascii()
    assert is_person_name(nfc)
    assert is_person_name(nfd)


@pytest.mark.parametrize(
    "value", ["", " Nguyễn An", "Nguyễn  An", "Nguyễn An ", "Nguyen 2", "An_Binh", "Lê, An"]
)
def test_names_with_digits_punctuation_or_stray_spaces_are_invalid(value: str) -> None:
    assert not is_person_name(value)


def test_the_hubs_own_name_check_refuses_nfd_so_the_fast_path_can_trust_names() -> None:
    nfd = unicodedata.normalize("NFD", "Nguyễn Thị Ánh")
    assert not is_person_name_in_nfc(nfd)
    assert is_person_name_in_nfc(unicodedata.normalize("NFC", nfd))
    assert HUB_FORMATS["citizen_id"] is NATIONAL_FORMATS["citizen_id"]


def test_an_nfd_name_in_a_record_validates_like_its_nfc_form() -> None:
    validator = fixture_dictionary().validator("Person")
    nfd = unicodedata.normalize("NFD", "Nguyễn Thị Ánh")
    record = valid_person(full_name=nfd, citizen_id="001190012345", sex="F")
    assert validator.validate(record) == []
    assert validator.normalize(record)["full_name"] == "Nguyễn Thị Ánh"


@pytest.mark.parametrize(
    ("name", "value", "ok"),
    [
        ("province_code", "01", True),
        ("province_code", "1", False),
        ("district_code", "001", True),
        ("district_code", "0011", False),
        ("commune_code", "00001", True),
        ("commune_code", "0001a", False),
    ],
)
def test_admin_unit_code_shapes(name: str, value: str, ok: bool) -> None:
    assert NATIONAL_FORMATS[name](value) is ok
