"""National formats, registered as jsonschema-rs custom formats.

Each checker takes a string and answers yes or no; jsonschema-rs calls it only for strings,
and the error code of a failure is ``format.<name>``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from stdnum.vn import mst

# The 63 provincial units before 1 July 2025 (General Statistics Office codes, Decision
# 124/2004/QD-TTg). A citizen ID keeps the province of birth registration as it was when it
# was issued, so its first three digits are checked against this list, which also holds
# every post-2025 code. Source: /work/shared/data/provinces-2025.csv (old_code column).
PRE_2025_PROVINCE_CODES: frozenset[str] = frozenset(
    [
        "01",
        "02",
        "04",
        "06",
        "08",
        "10",
        "11",
        "12",
        "14",
        "15",
        "17",
        "19",
        "20",
        "22",
        "24",
        "25",
        "26",
        "27",
        "30",
        "31",
        "33",
        "34",
        "35",
        "36",
        "37",
        "38",
        "40",
        "42",
        "44",
        "45",
        "46",
        "48",
        "49",
        "51",
        "52",
        "54",
        "56",
        "58",
        "60",
        "62",
        "64",
        "66",
        "67",
        "68",
        "70",
        "72",
        "74",
        "75",
        "77",
        "79",
        "80",
        "82",
        "83",
        "84",
        "86",
        "87",
        "89",
        "91",
        "92",
        "93",
        "94",
        "95",
        "96",
    ]
)
CITIZEN_ID_PROVINCE_PREFIXES: frozenset[str] = frozenset(
    "0" + code for code in PRE_2025_PROVINCE_CODES
)

_TAX_CODE = re.compile(r"[0-9]{10}(?:-[0-9]{3})?")
_PHONE = re.compile(r"(?:0|\+84)(?:[35789][0-9]{8}|2[0-9]{9})")
# Words of letters (a letter may carry combining marks that have no precomposed form),
# joined by one space, apostrophe (H'Hen Niê) or hyphen.
_NAME_WORD = r"(?:[^\W\d_][\u0300-\u036f]*)+"
_PERSON_NAME = re.compile(rf"{_NAME_WORD}(?:[ '’-]{_NAME_WORD})*")
_PROVINCE_CODE = re.compile(r"[0-9]{2}")
_DISTRICT_CODE = re.compile(r"[0-9]{3}")
_COMMUNE_CODE = re.compile(r"[0-9]{5}")


def nfc(text: str) -> str:
    """NFC form of ``text``; the cheap ``is_normalized`` test spares the common case a copy."""
    if text.isascii() or unicodedata.is_normalized("NFC", text):
        return text
    return unicodedata.normalize("NFC", text)


def is_citizen_id(value: str) -> bool:
    """12 digits: province of birth registration (3), century and sex (1), year (2), serial (6)."""
    return (
        len(value) == 12
        and value.isascii()
        and value.isdigit()
        and value[:3] in CITIZEN_ID_PROVINCE_PREFIXES
    )


@dataclass(frozen=True, slots=True)
class CitizenIdParts:
    province_code: str  # 2-digit GSO code of the province of birth registration
    birth_century: int  # first year of the century, e.g. 1900
    sex: Literal["M", "F"]
    birth_year: int  # four digits, from the century and the two year digits
    serial: str


def century_and_sex(digit: int) -> tuple[int, Literal["M", "F"]]:
    """Circular 59/2021/TT-BCA: 0/1 = 20th century male/female, 2/3 = 21st, ... 8/9 = 24th."""
    return 1900 + (digit // 2) * 100, "M" if digit % 2 == 0 else "F"


def decode_citizen_id(value: str) -> CitizenIdParts | None:
    if not is_citizen_id(value):
        return None
    century, sex = century_and_sex(int(value[3]))
    return CitizenIdParts(
        province_code=value[1:3],
        birth_century=century,
        sex=sex,
        birth_year=century + int(value[4:6]),
        serial=value[6:],
    )


def is_tax_code(value: str) -> bool:
    """10 digits, or 13 as NNNNNNNNNN-NNN, with the check digit; or a 12-digit citizen ID.

    Since 2025 an individual's personal identification number serves as their tax code.
    """
    if _TAX_CODE.fullmatch(value):
        return mst.is_valid(value)
    return is_citizen_id(value)


def is_phone(value: str) -> bool:
    """Mobile 0[35789]x xxx xxxx or landline 02xx xxx xxxx, national (0) or +84 form."""
    return _PHONE.fullmatch(value) is not None


def is_person_name(value: str) -> bool:
    """Letters in words; NFC first, so a name typed as NFD passes exactly as its NFC form."""
    return _PERSON_NAME.fullmatch(nfc(value)) is not None


def is_person_name_in_nfc(value: str) -> bool:
    """The hub's own check: a person name already in NFC.

    The hub's validators normalise a record before deciding it is invalid, so a name that
    arrives as NFD fails this check only on the first, fast attempt and passes on the
    normalised retry. Refusing NFD here lets the fast path skip its own NFC look at name
    fields: a name that passes is known to be NFC.
    """
    if not value.isascii() and not unicodedata.is_normalized("NFC", value):
        return False
    return _PERSON_NAME.fullmatch(value) is not None


def is_province_code(value: str) -> bool:
    return _PROVINCE_CODE.fullmatch(value) is not None


def is_district_code(value: str) -> bool:
    return _DISTRICT_CODE.fullmatch(value) is not None


def is_commune_code(value: str) -> bool:
    return _COMMUNE_CODE.fullmatch(value) is not None


NATIONAL_FORMATS: dict[str, Callable[[str], bool]] = {
    "citizen_id": is_citizen_id,
    "tax_code": is_tax_code,
    "phone": is_phone,
    "person_name": is_person_name,
    "province_code": is_province_code,
    "district_code": is_district_code,
    "commune_code": is_commune_code,
}

# What the hub registers on its own compiled validators: the same verdict as
# NATIONAL_FORMATS on NFC text, and a refusal of non-NFC names (see is_person_name_in_nfc).
HUB_FORMATS: dict[str, Callable[[str], bool]] = {
    **NATIONAL_FORMATS,
    "person_name": is_person_name_in_nfc,
}
# Formats whose hub checker only passes NFC text.
NFC_ONLY_FORMATS: frozenset[str] = frozenset({"person_name"})

# Standard JSON Schema formats that jsonschema-rs checks itself.
STANDARD_FORMATS: frozenset[str] = frozenset(
    {
        "date",
        "date-time",
        "time",
        "duration",
        "email",
        "idn-email",
        "hostname",
        "idn-hostname",
        "ipv4",
        "ipv6",
        "uri",
        "uri-reference",
        "iri",
        "iri-reference",
        "uuid",
        "uri-template",
        "json-pointer",
        "relative-json-pointer",
        "regex",
    }
)
KNOWN_FORMATS: frozenset[str] = STANDARD_FORMATS | NATIONAL_FORMATS.keys()

# A string that passes one of these is ASCII, hence already in NFC: the validator need not
# look at it again on the fast path.
ASCII_ONLY_FORMATS: frozenset[str] = frozenset(
    {
        "citizen_id",
        "tax_code",
        "phone",
        "province_code",
        "district_code",
        "commune_code",
        "date",
        "date-time",
        "time",
        "duration",
        "ipv4",
        "ipv6",
        "uuid",
    }
)
