"""Cross-field rules, compiled once per record version into plain closures.

A rule runs after schema validation. It is skipped when one of its fields is absent, or
when schema validation already found that field wrong (its value cannot be trusted). On the
fast path every field has passed the schema, so the checks below can rely on the shapes the
schema guarantees (ISO dates, 12-digit citizen IDs) and stay cheap: string slices, no parsing
where slicing will do.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from dictionary.model import (
    CitizenIdMatchesBirthRule,
    CompareRule,
    DateOrderRule,
    MinimumAgeRule,
    Rule,
    ValidationIssue,
)

Check = Callable[[dict[str, Any], date | None], str | None]


@dataclass(frozen=True, slots=True)
class CompiledRule:
    id: str
    code: str
    fields: tuple[str, ...]
    path: str
    element: str | None
    check: Check  # the message when the rule is broken, None when it holds or does not apply


def compile_rules(
    rules: tuple[Rule, ...], element_of: Mapping[str, str]
) -> tuple[CompiledRule, ...]:
    compiled = []
    for rule in rules:
        anchor = rule.fields[0]
        compiled.append(
            CompiledRule(
                id=rule.id,
                code=f"rule.{rule.id}",
                fields=rule.fields,
                path=f"/{anchor}",
                element=element_of.get(anchor),
                check=_CHECK_BUILDERS[rule.kind](rule),
            )
        )
    return tuple(compiled)


def run_rules(
    rules: tuple[CompiledRule, ...],
    record: dict[str, Any],
    as_of: date | None,
    broken_fields: Collection[str] = (),
) -> list[ValidationIssue]:
    issues: list[ValidationIssue] = []
    for rule in rules:
        if broken_fields and any(f in broken_fields for f in rule.fields):
            continue
        message = rule.check(record, as_of)
        if message is not None:
            issues.append(ValidationIssue(rule.path, rule.element, rule.code, message))
    return issues


def _citizen_id_matches_birth(rule: Rule) -> Check:
    assert isinstance(rule, CitizenIdMatchesBirthRule)
    id_field, birth_field, sex_field = rule.citizen_id, rule.date_of_birth, rule.sex
    male, female = rule.male, rule.female
    # Circular 59/2021/TT-BCA: digit 4 = 2 * (century - 20th) + (0 male, 1 female), for the
    # 20th to 24th centuries; digits 5-6 are the year. Precomputed for every birth year, so a
    # matching record costs one lookup: (year, sex) -> the three digits it must carry.
    expected: dict[tuple[str, object], str] = {}
    expected_any_sex: dict[str, tuple[str, str]] = {}
    for year in range(1900, 2400):
        century_digit = 2 * (year // 100 - 19)
        as_male = f"{century_digit}{year % 100:02d}"
        as_female = f"{century_digit + 1}{year % 100:02d}"
        expected[(str(year), male)] = as_male
        expected[(str(year), female)] = as_female
        expected_any_sex[str(year)] = (as_male, as_female)

    def explain(citizen_id: str, born: str, sex: object) -> str | None:
        if len(citizen_id) != 12 or not citizen_id.isascii() or not citizen_id[3:6].isdigit():
            return None
        if len(born) < 10 or not born[:4].isascii() or not born[:4].isdigit():
            return None
        digit = int(citizen_id[3])
        encoded_year = 1900 + (digit // 2) * 100 + int(citizen_id[4:6])
        if encoded_year != int(born[:4]):
            return (
                f"Citizen ID {citizen_id} encodes a birth year of {encoded_year}, "
                f"but {birth_field} is {born[:10]}."
            )
        if sex in (male, female):
            encoded = male if digit % 2 == 0 else female
            if sex != encoded:
                return f"Citizen ID {citizen_id} encodes sex {encoded}, but {sex_field} is {sex}."
        return None

    def check(record: dict[str, Any], as_of: date | None) -> str | None:
        citizen_id = record.get(id_field)
        born = record.get(birth_field)
        try:
            if sex_field is not None and sex_field in record:
                if citizen_id[3:6] == expected[(born[:4], record[sex_field])]:  # type: ignore[index]
                    return None
            elif citizen_id[3:6] in expected_any_sex[born[:4]]:  # type: ignore[index]
                return None
        except (KeyError, TypeError):
            pass  # odd shapes or codes: the careful path below decides
        if type(citizen_id) is not str or type(born) is not str:
            return None
        return explain(citizen_id, born, record.get(sex_field) if sex_field else None)

    return check


def _as_instant(value: str) -> date | datetime | None:
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _ordered(earlier: str, later: str, strict: bool) -> bool | None:
    if len(earlier) == 10 and len(later) == 10:
        return earlier < later if strict else earlier <= later
    first, second = _as_instant(earlier), _as_instant(later)
    if first is None or second is None:
        return None
    if type(first) is not type(second) or (
        isinstance(first, datetime)
        and isinstance(second, datetime)
        and (first.tzinfo is None) != (second.tzinfo is None)
    ):
        # A date against a timestamp, or naive against aware: compare the calendar days.
        return _ordered(earlier[:10], later[:10], strict)
    return first < second if strict else first <= second


def _date_order(rule: Rule) -> Check:
    assert isinstance(rule, DateOrderRule)
    earlier_field, later_field, strict = rule.earlier, rule.later, rule.strict
    relation = "after" if strict else "on or after"

    def check(record: dict[str, Any], as_of: date | None) -> str | None:
        later = record.get(later_field)
        if later is None:
            return None
        earlier = record.get(earlier_field)
        if type(earlier) is not str or type(later) is not str:
            return None
        if _ordered(earlier, later, strict) is False:
            return f"{later_field} ({later}) must be {relation} {earlier_field} ({earlier})."
        return None

    return check


def _minimum_age(rule: Rule) -> Check:
    assert isinstance(rule, MinimumAgeRule)
    birth_field, at_field, years = rule.date_of_birth, rule.at, rule.years
    sex_field, by_sex = rule.sex, rule.years_by_sex or {}

    def check(record: dict[str, Any], as_of: date | None) -> str | None:
        born = record.get(birth_field)
        if type(born) is not str or len(born) < 10 or not born[:4].isdigit():
            return None
        if at_field is None:
            at = (as_of or date.today()).isoformat()
        else:
            value = record.get(at_field)
            if type(value) is not str or len(value) < 10 or not value[:4].isdigit():
                return None
            at = value
        threshold = years
        if threshold is None:
            sex = record.get(sex_field) if sex_field else None
            threshold = by_sex.get(sex) if type(sex) is str else None
            if threshold is None:
                return None
        age = int(at[:4]) - int(born[:4]) - (at[5:10] < born[5:10])
        if age < threshold:
            when = f"on {at_field} ({at[:10]})" if at_field else f"on {at}"
            return (
                f"Born {born[:10]}, the person is {age} {when}; at least {threshold} is required."
            )
        return None

    return check


_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}


def _comparable(left: object, right: object) -> bool:
    def numeric(value: object) -> bool:
        return isinstance(value, int | float) and not isinstance(value, bool)

    if numeric(left) and numeric(right):
        return True
    return type(left) is type(right) and isinstance(left, str | bool)


def _compare(rule: Rule) -> Check:
    assert isinstance(rule, CompareRule)
    field, other_field, constant, symbol = rule.field, rule.other, rule.value, rule.op
    compare = _OPERATORS[symbol]

    def check(record: dict[str, Any], as_of: date | None) -> str | None:
        value = record.get(field)
        if value is None:
            return None
        right = constant if other_field is None else record.get(other_field)
        if right is None or not _comparable(value, right):
            return None
        if not compare(value, right):
            target = repr(right) if other_field is None else f"{other_field} ({right!r})"
            return f"{field} ({value!r}) must be {symbol} {target}."
        return None

    return check


_CHECK_BUILDERS: dict[str, Callable[[Rule], Check]] = {
    "citizen_id_matches_birth": _citizen_id_matches_birth,
    "date_order": _date_order,
    "minimum_age": _minimum_age,
    "compare": _compare,
}
