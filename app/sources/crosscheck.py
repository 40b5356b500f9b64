"""Which records of two systems must agree about the same person, and on what.

Each rule names two record types (each held by its system), how each is found for a
subject, and the fields that must agree. A rule answers with the fields that disagree (the
left record type's field names, and ``counterparts`` gives the other side's; never the values). The live check (``app.conflicts.checker``)
runs a rule when a change of either side arrives; the quality scan (``app.sources.scanning``)
runs the rules of the record type it samples. Both use this module.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

Record = dict[str, Any]


def name_key(value: object) -> str:
    return " ".join(unicodedata.normalize("NFC", str(value or "")).split()).casefold()


def date_key(value: object) -> str:
    if isinstance(value, date | datetime):
        return value.isoformat()[:10]
    return str(value or "")[:10]


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    description: str
    left: str  # record type (the population side)
    right: str  # record type of the other system; both are pulled by the same subject
    # The fields that disagree, given the left record (None: the subject has none) and the
    # right one, named as the left record type names them; an empty list when they agree.
    compare: Callable[[Record | None, Record], list[str]]
    # Each left field the rule compares, and the right record type's field it is compared
    # with: what the other side's holder is told has to agree.
    counterparts: dict[str, str]

    def record_types(self) -> tuple[str, str]:
        return self.left, self.right

    def right_fields(self, fields: list[str]) -> list[str]:
        """``fields`` (the left names) as the right record type names them."""
        named: list[str] = []
        for name in fields:
            other = self.counterparts.get(name)
            if other is not None and other not in named:
                named.append(other)
        return named


def _same(left: Record | None, right: Record, pairs: list[tuple[str, str, str]]) -> list[str]:
    if left is None:
        return []
    found = []
    for left_field, right_field, kind in pairs:
        key = name_key if kind == "name" else date_key
        a, b = left.get(left_field), right.get(right_field)
        if a is None or b is None:
            continue
        if key(a) != key(b):
            found.append(left_field)
    return found


def _birth(left: Record | None, right: Record) -> list[str]:
    return _same(
        left,
        right,
        [
            ("full_name", "child_full_name", "name"),
            ("date_of_birth", "child_date_of_birth", "date"),
        ],
    )


def _death(left: Record | None, right: Record) -> list[str]:
    if left is None:
        return []
    found = []
    if left.get("is_deceased") is not True:
        found.append("is_deceased")
    elif date_key(left.get("date_of_death")) != date_key(right.get("date_of_death")):
        found.append("date_of_death")
    return found


def _marriage(left: Record | None, right: Record) -> list[str]:
    # The register keeps no dissolution date: a person recorded single (never married)
    # while a marriage is registered is the contradiction; divorced or widowed is not.
    if left is None or left.get("marital_status") != "SINGLE":
        return []
    return ["marital_status"]


def _owner(left: Record | None, right: Record) -> list[str]:
    return _same(left, right, [("full_name", "owner_full_name", "name")])


def _taxpayer(left: Record | None, right: Record) -> list[str]:
    return _same(
        left,
        right,
        [("full_name", "full_name", "name"), ("date_of_birth", "date_of_birth", "date")],
    )


RULES: tuple[Rule, ...] = (
    Rule(
        "person_birth",
        "The population database and the birth register agree on the name and date of birth.",
        "Person",
        "BirthRegistration",
        _birth,
        {"full_name": "child_full_name", "date_of_birth": "child_date_of_birth"},
    ),
    Rule(
        "person_death",
        "A death in the civil-status register is a death in the population database.",
        "Person",
        "DeathRegistration",
        _death,
        {"is_deceased": "date_of_death", "date_of_death": "date_of_death"},
    ),
    Rule(
        "person_marriage",
        "A person with a registered marriage is not recorded single.",
        "Person",
        "MarriageRegistration",
        _marriage,
        {"marital_status": "registration_date"},
    ),
    Rule(
        "person_land_owner",
        "A land-use right's holder has the name the population database has.",
        "Person",
        "LandUseRightCertificate",
        _owner,
        {"full_name": "owner_full_name"},
    ),
    Rule(
        "person_taxpayer",
        "A taxpayer's name and date of birth are the population database's.",
        "Person",
        "Taxpayer",
        _taxpayer,
        {"full_name": "full_name", "date_of_birth": "date_of_birth"},
    ),
)


def rules_of(record_type: str) -> list[Rule]:
    return [r for r in RULES if record_type in r.record_types()]
