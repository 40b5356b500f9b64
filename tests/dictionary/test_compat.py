"""Compatibility modes: for each, a change that keeps it and a change that breaks it."""

from __future__ import annotations

from typing import Any

from dictionary import Dictionary, Element, RecordVersion
from dictionary.compat import diff_versions
from tests.dictionary.fixtures.engine import (
    fixture_dictionary,
    record_type,
    version,
    with_record_type,
)

REF = {"name": "ref", "element": "common.reference", "required": True}
NAME = {"name": "name", "element": "person.full_name", "required": False}
AMOUNT = {"name": "amount", "element": "common.amount", "required": False}
RELATION = {"name": "relation", "element": "household.relationship", "required": False}
LABEL = {"name": "label", "element": "common.label", "required": False}
BASE = [REF, NAME, AMOUNT, RELATION, LABEL]


def extra_elements() -> list[Element]:
    def element(ident: str, **spec: Any) -> Element:
        return Element.model_validate(
            {
                "id": ident,
                "name_vi": ident,
                "name_en": ident,
                "definition_vi": "x",
                "definition_en": "x",
                "sensitivity": "public",
                **spec,
            }
        )

    return [
        element("test.short_label", type="string", constraints={"min_length": 2, "max_length": 10}),
        element("test.long_label", type="string", constraints={"min_length": 1, "max_length": 40}),
        element(
            "test.core_relation",
            type="code",
            codelist="relationship",
            constraints={"enum": ["HEAD", "SPOUSE"]},
        ),
        element("test.note", type="string"),
    ]


def dictionary_with(mode: str, *history: list[dict[str, Any]]) -> Dictionary:
    base = fixture_dictionary()
    versions = [version(f"1.{i}.0", fields) for i, fields in enumerate(history)]
    dictionary = with_record_type(base, record_type("Thing", mode, versions))
    for element in extra_elements():
        dictionary.elements[element.id] = element
    return dictionary


def kinds(dictionary: Dictionary, fields: list[dict[str, Any]]) -> list[tuple[str, str]]:
    candidate = {"version": "2.0.0", "fields": fields}
    return [(v.kind, v.field) for v in dictionary.check_compatibility("Thing", candidate)]


def replace(fields: list[dict[str, Any]], name: str, **changes: Any) -> list[dict[str, Any]]:
    return [{**f, **changes} if f["name"] == name else f for f in fields]


def without(fields: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [f for f in fields if f["name"] != name]


OPTIONAL_NOTE = {"name": "note", "element": "test.note", "required": False}
REQUIRED_NOTE = {**OPTIONAL_NOTE, "required": True}


# -- NONE


def test_none_accepts_any_change() -> None:
    dictionary = dictionary_with("NONE", BASE)
    assert kinds(dictionary, [REQUIRED_NOTE]) == []


# -- BACKWARD: the new version reads old records


def test_backward_accepts_a_new_optional_field() -> None:
    assert kinds(dictionary_with("BACKWARD", BASE), [*BASE, OPTIONAL_NOTE]) == []


def test_backward_accepts_loosened_constraints_and_widened_types() -> None:
    dictionary = dictionary_with("BACKWARD", replace(BASE, "label", element="test.short_label"))
    loosened = replace(BASE, "label", element="test.long_label")
    assert kinds(dictionary, loosened) == []
    dictionary = dictionary_with("BACKWARD", replace(BASE, "amount", element="common.age"))
    assert kinds(dictionary, BASE) == []  # integer -> decimal


def test_backward_refuses_a_new_required_field() -> None:
    dictionary = dictionary_with("BACKWARD", BASE)
    assert kinds(dictionary, [*BASE, REQUIRED_NOTE]) == [("required_field_added", "note")]


def test_backward_refuses_removing_even_an_optional_field() -> None:
    dictionary = dictionary_with("BACKWARD", BASE)
    assert kinds(dictionary, without(BASE, "label")) == [("field_removed", "label")]


def test_backward_refuses_narrowing_a_type() -> None:
    dictionary = dictionary_with("BACKWARD", BASE)
    assert kinds(dictionary, replace(BASE, "amount", element="common.age")) == [
        ("type_narrowed", "amount")
    ]


def test_backward_refuses_removing_a_code() -> None:
    dictionary = dictionary_with("BACKWARD", BASE)
    violations = dictionary.check_compatibility(
        "Thing",
        {"version": "2.0.0", "fields": replace(BASE, "relation", element="test.core_relation")},
    )
    assert [(v.kind, v.field) for v in violations] == [("codes_removed", "relation")]
    assert "CHILD" in violations[0].message
    assert violations[0].breaks == ("BACKWARD",)
    assert violations[0].against == "1.0.0"


def test_backward_refuses_tightening_constraints_and_making_fields_required() -> None:
    dictionary = dictionary_with("BACKWARD", BASE)
    tightened = replace(BASE, "label", element="test.short_label")
    assert kinds(dictionary, tightened) == [("constraint_tightened", "label")]
    assert kinds(dictionary, replace(BASE, "name", required=True)) == [
        ("field_made_required", "name")
    ]
    assert kinds(dictionary, replace(BASE, "name", cardinality="0..n")) == [
        ("cardinality_changed", "name")
    ]


def test_every_violation_is_listed_not_just_the_first() -> None:
    dictionary = dictionary_with("BACKWARD", BASE)
    candidate = replace(
        replace(without(BASE, "label"), "amount", element="common.age"),
        "relation",
        element="test.core_relation",
    )
    assert kinds(dictionary, [*candidate, REQUIRED_NOTE]) == [
        ("type_narrowed", "amount"),
        ("codes_removed", "relation"),
        ("field_removed", "label"),
        ("required_field_added", "note"),
    ]


def test_adding_a_rule_tightens_and_removing_one_loosens() -> None:
    fixture = fixture_dictionary()
    dates = [
        REF,
        {"name": "start", "element": "common.registration_date", "required": True},
        {"name": "end", "element": "common.interview_date", "required": False},
    ]
    rule = {"id": "end_after_start", "kind": "date_order", "earlier": "start", "later": "end"}
    old = version("1.0.0", dates)
    new = version("1.1.0", dates, rules=[rule])
    added = diff_versions(old, new, fixture.elements, fixture.codelists)
    assert [(v.kind, v.breaks) for v in added] == [("rule_added", ("BACKWARD",))]
    removed = diff_versions(new, old, fixture.elements, fixture.codelists)
    assert [(v.kind, v.breaks) for v in removed] == [("rule_removed", ("FORWARD",))]


# -- FORWARD: the old version reads new records


def test_forward_accepts_removing_an_optional_field() -> None:
    assert kinds(dictionary_with("FORWARD", BASE), without(BASE, "label")) == []


def test_forward_accepts_tightening() -> None:
    dictionary = dictionary_with("FORWARD", BASE)
    assert kinds(dictionary, replace(BASE, "relation", element="test.core_relation")) == []
    assert kinds(dictionary, replace(BASE, "amount", element="common.age")) == []


def test_forward_refuses_a_new_field_because_records_are_closed() -> None:
    dictionary = dictionary_with("FORWARD", BASE)
    assert kinds(dictionary, [*BASE, OPTIONAL_NOTE]) == [("field_added", "note")]


def test_forward_refuses_loosening_and_dropping_a_required_field() -> None:
    dictionary = dictionary_with("FORWARD", replace(BASE, "label", element="test.short_label"))
    assert kinds(dictionary, BASE) == [("constraint_loosened", "label")]
    dictionary = dictionary_with("FORWARD", BASE)
    assert kinds(dictionary, [{**REF, "required": False}, *BASE[1:]]) == [
        ("field_made_optional", "ref")
    ]
    assert kinds(dictionary, BASE[1:]) == [("field_removed", "ref")]


# -- FULL: both


def test_full_accepts_rebinding_a_field_to_an_identically_shaped_element() -> None:
    dictionary = dictionary_with("FULL", BASE)
    assert kinds(dictionary, replace(BASE, "name", element="person.other_name")) == []
    assert kinds(dictionary, list(reversed(BASE))) == []


def test_full_refuses_changes_that_break_either_direction() -> None:
    dictionary = dictionary_with("FULL", BASE)
    assert kinds(dictionary, [*BASE, OPTIONAL_NOTE]) == [("field_added", "note")]
    assert kinds(dictionary, without(BASE, "label")) == [("field_removed", "label")]
    assert kinds(dictionary, replace(BASE, "amount", element="common.age")) == [
        ("type_narrowed", "amount")
    ]


# -- the transitive modes check every earlier version, the others only the latest.
# OLD -> MIDDLE dropped a required field while the type was still NONE.

OLD = [REF, {**LABEL, "required": True}]
MIDDLE = [REF]  # published when the type was still NONE


def test_backward_transitive() -> None:
    growing = dictionary_with("BACKWARD_TRANSITIVE", [REF], [REF, NAME])
    assert kinds(growing, [REF, NAME, OPTIONAL_NOTE]) == []
    shrunk = dictionary_with("BACKWARD_TRANSITIVE", OLD, MIDDLE)
    assert kinds(shrunk, [*MIDDLE, OPTIONAL_NOTE]) == [("field_removed", "label")]
    assert kinds(dictionary_with("BACKWARD", OLD, MIDDLE), [*MIDDLE, OPTIONAL_NOTE]) == []


def test_forward_transitive() -> None:
    shrinking = dictionary_with("FORWARD_TRANSITIVE", [REF, NAME], [REF])
    assert kinds(shrinking, [{**REF, "element": "common.reference"}]) == []
    # The latest version's fields: FORWARD-compatible with it, but 1.0.0's readers require label.
    same_as_latest = [REF]
    broken = dictionary_with("FORWARD_TRANSITIVE", OLD, MIDDLE)
    violations = broken.check_compatibility("Thing", {"version": "2.0.0", "fields": same_as_latest})
    assert [(v.kind, v.field, v.against) for v in violations] == [
        ("field_removed", "label", "1.0.0")
    ]
    assert kinds(dictionary_with("FORWARD", OLD, MIDDLE), same_as_latest) == []


def test_full_transitive() -> None:
    steady = dictionary_with("FULL_TRANSITIVE", [REF, NAME], [NAME, REF])
    assert kinds(steady, [REF, {**NAME, "element": "person.other_name"}]) == []
    broken = dictionary_with("FULL_TRANSITIVE", OLD, MIDDLE)
    violations = broken.check_compatibility("Thing", {"version": "2.0.0", "fields": MIDDLE})
    assert [(v.kind, v.field, v.breaks) for v in violations] == [
        ("field_removed", "label", ("BACKWARD", "FORWARD"))
    ]
    assert kinds(dictionary_with("FULL", OLD, MIDDLE), MIDDLE) == []


def test_draft_versions_are_not_part_of_the_history() -> None:
    dictionary = dictionary_with("BACKWARD", BASE)
    thing = dictionary.record_types["Thing"]
    draft = RecordVersion.model_validate(
        {"version": "1.5.0", "status": "draft", "fields": [*BASE, REQUIRED_NOTE]}
    )
    dictionary.record_types["Thing"] = thing.with_version(draft)
    assert kinds(dictionary, [*BASE, OPTIONAL_NOTE]) == []  # compared with 1.0.0 only
