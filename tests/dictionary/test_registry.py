"""Publishing versions: compatibility enforced, idempotent, immutable, content-addressed."""

from __future__ import annotations

import re
from typing import Any

import pytest

from dictionary import (
    Dictionary,
    IncompatibleVersion,
    InvalidRecordVersion,
    RecordVersion,
    UnknownRecordType,
    VersionConflict,
)
from tests.dictionary.fixtures.engine import fixture_dictionary, valid_person


@pytest.fixture
def dictionary() -> Dictionary:
    return fixture_dictionary()


def person_fields(dictionary: Dictionary) -> list[dict[str, Any]]:
    return [f.model_dump() for f in dictionary.record_version("Person", "1.1.0").fields]


def person_rules(dictionary: Dictionary) -> list[dict[str, Any]]:
    latest = dictionary.record_version("Person", "1.1.0")
    return [r.model_dump(exclude_none=True) for r in latest.rules]


def candidate(dictionary: Dictionary, number: str, *extra_fields: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": number,
        "status": "published",
        "fields": [*person_fields(dictionary), *extra_fields],
        "rules": person_rules(dictionary),
        "examples": {"valid": [valid_person()]},
    }


NOTE = {"name": "other_name", "element": "person.other_name", "required": False}


def test_a_compatible_version_is_published_and_becomes_the_latest(dictionary: Dictionary) -> None:
    result = dictionary.publish("Person", candidate(dictionary, "1.2.0", NOTE))
    assert result.created is True
    assert result.version.version == "1.2.0"
    assert [v.version for v in dictionary.record_type("Person").versions] == [
        "1.0.0",
        "1.1.0",
        "1.2.0",
    ]
    assert dictionary.validator("Person").version == "1.2.0"
    assert dictionary.validator("Person").validate(valid_person(other_name="An")) == []


def test_publishing_the_same_content_again_returns_the_existing_version(
    dictionary: Dictionary,
) -> None:
    first = dictionary.publish("Person", candidate(dictionary, "1.2.0", NOTE))
    again = dictionary.publish("Person", candidate(dictionary, "1.2.0", NOTE))
    assert again.created is False
    assert again.version.id == first.version.id
    assert len(dictionary.record_type("Person").versions) == 3


def test_identical_content_under_a_new_number_returns_the_existing_version(
    dictionary: Dictionary,
) -> None:
    result = dictionary.publish("Person", candidate(dictionary, "1.3.0"))  # = 1.1.0's content
    assert (result.created, result.version.version) == (False, "1.1.0")
    assert len(dictionary.record_type("Person").versions) == 2


def test_a_version_number_is_never_reused_for_other_content(dictionary: Dictionary) -> None:
    with pytest.raises(VersionConflict, match="immutable"):
        dictionary.publish("Person", candidate(dictionary, "1.1.0", NOTE))
    assert dictionary.record_version("Person", "1.1.0").field("other_name") is None


def test_a_new_version_must_sort_after_the_newest(dictionary: Dictionary) -> None:
    with pytest.raises(VersionConflict, match=re.escape("after the newest one, 1.1.0")):
        dictionary.publish("Person", candidate(dictionary, "1.0.5", NOTE))


def test_an_incompatible_version_is_refused_with_every_violation(dictionary: Dictionary) -> None:
    fields = [f for f in person_fields(dictionary) if f["name"] != "phone"]
    fields.append({"name": "other_name", "element": "person.other_name", "required": True})
    body = {"version": "2.0.0", "fields": fields, "rules": person_rules(dictionary)}
    with pytest.raises(IncompatibleVersion) as caught:
        dictionary.publish("Person", body)
    assert caught.value.mode == "BACKWARD"
    assert [(v.kind, v.field) for v in caught.value.violations] == [
        ("field_removed", "phone"),
        ("required_field_added", "other_name"),
    ]
    assert len(dictionary.record_type("Person").versions) == 2
    assert dictionary.check_compatibility("Person", body) == caught.value.violations


def test_a_version_with_dangling_references_is_refused(dictionary: Dictionary) -> None:
    body = candidate(dictionary, "1.2.0", {"name": "x", "element": "person.nothing"})
    with pytest.raises(InvalidRecordVersion, match=re.escape("unknown element 'person.nothing'")):
        dictionary.publish("Person", body)


def test_a_version_whose_examples_misbehave_is_refused(dictionary: Dictionary) -> None:
    body = candidate(dictionary, "1.2.0", NOTE)
    body["examples"] = {
        "valid": [valid_person(sex="X")],
        "invalid": [{"record": valid_person(), "errors": ["required"]}],
    }
    with pytest.raises(InvalidRecordVersion) as caught:
        dictionary.publish("Person", body)
    assert len(caught.value.problems) == 2
    assert "valid example 0 does not validate: code_not_in_list at /sex" in caught.value.problems[0]
    assert "gives no errors, declared ['required']" in caught.value.problems[1]


def test_a_malformed_candidate_is_refused_with_its_problems(dictionary: Dictionary) -> None:
    with pytest.raises(InvalidRecordVersion) as caught:
        dictionary.publish("Person", {"version": "one", "fields": [{"name": "a"}]})
    assert any(p.startswith("version:") for p in caught.value.problems)
    assert any(p.startswith("fields.0.element:") for p in caught.value.problems)


def test_publishing_to_an_unknown_record_type_fails(dictionary: Dictionary) -> None:
    with pytest.raises(UnknownRecordType):
        dictionary.publish("Spaceship", candidate(dictionary, "1.0.0"))


def test_the_content_id_is_the_sha256_of_fields_and_rules_only(dictionary: Dictionary) -> None:
    body = candidate(dictionary, "9.0.0")
    same = RecordVersion.model_validate({**body, "status": "draft", "notes": "other docs"})
    assert same.id == dictionary.record_version("Person", "1.1.0").id
    assert same.id.startswith("sha256:") and len(same.id) == 71
    shuffled = RecordVersion.model_validate({**body, "fields": list(reversed(body["fields"]))})
    assert shuffled.id != same.id
    # Spelling the default cardinality out does not change what the version is.
    explicit = [
        {**f, "cardinality": "1..1" if f["required"] else f["cardinality"]} for f in body["fields"]
    ]
    assert RecordVersion.model_validate({**body, "fields": explicit}).id == same.id


def test_a_dumped_version_round_trips_with_its_id(dictionary: Dictionary) -> None:
    original = dictionary.record_version("Person", "1.1.0")
    dumped = original.model_dump(mode="json")
    assert dumped["id"] == original.id
    assert RecordVersion.model_validate(dumped).id == original.id


def test_status_only_moves_forward(dictionary: Dictionary) -> None:
    dictionary.publish("Person", {**candidate(dictionary, "1.2.0", NOTE), "status": "draft"})
    assert dictionary.record_type("Person").latest().version == "1.1.0"  # drafts are not latest
    published = dictionary.set_status("Person", "1.2.0", "published")
    assert published.status == "published"
    assert dictionary.record_type("Person").latest().version == "1.2.0"
    dictionary.set_status("Person", "1.2.0", "deprecated")
    with pytest.raises(VersionConflict, match="cannot go back"):
        dictionary.set_status("Person", "1.2.0", "published")
