"""Property: the hub's verdict agrees with the reference ``jsonschema`` library.

On a record type with no national formats and no cross-field rules (SurveyResponse in the
fixture), the reference Draft202012Validator, checking standard formats, is run on the JSON
Schema the hub exports as of the same date: code lists appear there as ``enum``, so both see
the same allowed codes. Records are generated valid and then mutated.

Two known differences between the libraries are kept out of the generated data, since the
hub's engine (jsonschema-rs) is the one that follows the specifications there: Python's
``re.search`` lets ``$`` match before a final newline (ECMA-262 does not), and Python's
``date`` refuses year 0000, which RFC 3339 allows.
"""

from __future__ import annotations

import unicodedata
from datetime import date
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from dictionary import RecordValidator
from dictionary.formats import STANDARD_FORMATS
from tests.dictionary.fixtures.engine import fixture_dictionary

AS_OF = date(2024, 6, 1)
SETTINGS = settings(
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

_dictionary = fixture_dictionary()
HUB: RecordValidator = _dictionary.validator("SurveyResponse")
SCHEMA = HUB.json_schema_as_of(AS_OF)
REFERENCE = jsonschema.Draft202012Validator(
    SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
)
ALL_DISTRICTS = sorted(_dictionary.codelists["district"].all_codes)
VALID_DISTRICTS = sorted(_dictionary.codelists["district"].as_of(AS_OF).codes)  # type: ignore[union-attr]


def formats_in(schema: Any) -> set[str]:
    if isinstance(schema, dict):
        own = {schema["format"]} if isinstance(schema.get("format"), str) else set()
        return own.union(*(formats_in(v) for v in schema.values()))
    if isinstance(schema, list):
        return set().union(*(formats_in(v) for v in schema))
    return set()


def nfc(value: Any) -> Any:
    """The reference sees what the hub validates: text in NFC (written here independently)."""
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, dict):
        return {nfc(k): nfc(v) for k, v in value.items()}
    if isinstance(value, list):
        return [nfc(v) for v in value]
    return value


# -- strategies

TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="\n"),
    max_size=25,
)
NUMBERS = st.one_of(
    st.integers(min_value=-1_000_000, max_value=1_000_000),
    st.floats(min_value=-1e7, max_value=1e7, allow_nan=False, allow_infinity=False),
)
JUNK = st.one_of(
    st.none(),
    st.booleans(),
    NUMBERS,
    TEXT,
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
VALID_DATE = st.dates(min_value=date(1, 1, 1)).map(date.isoformat)
BAD_DATE = st.sampled_from(
    [
        "2024-02-30",
        "2023-02-29",
        "2024-13-01",
        "2024-1-1",
        "20240101",
        "2024/01/01",
        "01-01-2024",
        "2024-01-01T00:00:00",
        " 2024-01-01",
        "2024-00-10",
        "",
    ]
)
LABEL = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="\n"),
    min_size=2,
    max_size=20,
)
REFERENCE_CODE = st.from_regex(r"S[0-9]{4}", fullmatch=True)
LINE_ITEM = st.fixed_dictionaries(
    {"label": LABEL}, optional={"quantity": st.integers(min_value=1, max_value=1000)}
)


@st.composite
def valid_records(draw: st.DrawFn) -> dict[str, Any]:
    record: dict[str, Any] = {
        "reference": draw(REFERENCE_CODE),
        "respondent_age": draw(st.integers(min_value=0, max_value=130)),
        "interview_date": draw(VALID_DATE),
        "tags": draw(st.lists(LABEL, min_size=1, max_size=3)),
    }
    optional: dict[str, st.SearchStrategy[Any]] = {
        "income": st.one_of(
            st.integers(min_value=0, max_value=10**9),
            st.floats(min_value=0, max_value=1e9, allow_nan=False),
        ),
        "employed": st.booleans(),
        "level": st.sampled_from(["LOW", "MEDIUM", "HIGH"]),
        "district": st.sampled_from(VALID_DISTRICTS),
        "notes": st.lists(LABEL, max_size=3),
        "line_items": st.lists(LINE_ITEM, max_size=5),
    }
    for name, strategy in optional.items():
        if draw(st.booleans()):
            record[name] = draw(strategy)
    return record


FIELD_JUNK: dict[str, st.SearchStrategy[Any]] = {
    "reference": st.one_of(TEXT, st.from_regex(r"S[0-9]{3,5}", fullmatch=True), JUNK),
    "respondent_age": st.one_of(st.integers(-50, 200), NUMBERS, JUNK),
    "income": st.one_of(NUMBERS, JUNK),
    "employed": JUNK,
    "interview_date": st.one_of(BAD_DATE, VALID_DATE, JUNK),
    "level": st.one_of(st.sampled_from(["low", "NONE", "LOW ", "HIGH"]), JUNK),
    "district": st.one_of(st.sampled_from(ALL_DISTRICTS), TEXT, JUNK),
    "notes": st.one_of(st.lists(st.one_of(LABEL, TEXT, JUNK), max_size=3), JUNK),
    "tags": st.one_of(st.lists(st.one_of(LABEL, TEXT), max_size=3), JUNK),
    "line_items": st.one_of(
        st.lists(
            st.one_of(
                LINE_ITEM,
                st.fixed_dictionaries(
                    {},
                    optional={
                        "label": st.one_of(LABEL, TEXT, JUNK),
                        "quantity": st.one_of(st.integers(-5, 2000), JUNK),
                        "extra": JUNK,
                    },
                ),
                JUNK,
            ),
            max_size=7,
        ),
        JUNK,
    ),
}


@st.composite
def mutated_records(draw: st.DrawFn) -> Any:
    record = draw(valid_records())
    if draw(st.integers(min_value=0, max_value=19)) == 0:
        return draw(JUNK)  # not an object at all
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        action = draw(st.sampled_from(["set", "set", "set", "drop", "add"]))
        if action == "set":
            name = draw(st.sampled_from(sorted(FIELD_JUNK)))
            record[name] = draw(FIELD_JUNK[name])
        elif action == "drop" and record:
            record.pop(draw(st.sampled_from(sorted(record))))
        else:
            record[draw(st.text(min_size=1, max_size=8))] = draw(JUNK)
    return record


# -- properties


def test_the_schema_under_test_uses_only_standard_formats_and_no_rules() -> None:
    assert formats_in(SCHEMA) <= STANDARD_FORMATS
    assert HUB.rules == ()
    assert SCHEMA["properties"]["district"]["enum"] == ["011", "020"]


@settings(SETTINGS, max_examples=500)
@given(valid_records())
def test_generated_valid_records_are_valid_for_both(record: dict[str, Any]) -> None:
    assert HUB.validate(record, as_of=AS_OF) == []
    assert REFERENCE.is_valid(nfc(record))


@settings(SETTINGS, max_examples=2000)
@given(mutated_records())
def test_hub_and_reference_agree_on_mutated_records(record: Any) -> None:
    issues = HUB.validate(record, as_of=AS_OF)
    event("valid" if not issues else "invalid")
    reference_errors = list(REFERENCE.iter_errors(nfc(record)))
    assert (issues == []) == (reference_errors == []), (issues, reference_errors)


@pytest.mark.parametrize("as_of", [date(2012, 1, 1), date(2016, 1, 1), AS_OF])
def test_code_lists_agree_at_every_epoch(as_of: date) -> None:
    schema = HUB.json_schema_as_of(as_of)
    reference = jsonschema.Draft202012Validator(schema)
    base = {
        "reference": "S0001",
        "respondent_age": 1,
        "interview_date": "2024-01-01",
        "tags": ["ok"],
    }
    for code in [*ALL_DISTRICTS, "999"]:
        record = {**base, "district": code}
        assert (HUB.validate(record, as_of=as_of) == []) == reference.is_valid(record), code
