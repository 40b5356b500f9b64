"""Loading the YAML content: content read before is not parsed again, and each load is a
dictionary of its own."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dictionary import DictionaryLoadError, load_dictionary
from tests.dictionary.fixtures.engine import FIXTURE_PATH, valid_person, version


def test_each_load_publishes_on_its_own_and_shares_the_frozen_models() -> None:
    first, second = load_dictionary(FIXTURE_PATH), load_dictionary(FIXTURE_PATH)
    assert first is not second
    assert first.elements["person.full_name"] is second.elements["person.full_name"]
    latest = first.record_type("Person").latest()
    candidate = version(
        "9.0.0",
        [
            *(f.model_dump() for f in latest.fields),
            {"name": "other_name", "element": "person.other_name", "required": False},
        ],
        rules=[r.model_dump(exclude_none=True) for r in latest.rules],
        examples={"valid": [valid_person()]},
    )

    assert first.publish("Person", candidate).created
    assert first.record_type("Person").latest().version == "9.0.0"
    assert second.record_type("Person").latest().version == latest.version
    assert load_dictionary(FIXTURE_PATH).record_type("Person").latest().version == latest.version


def test_changed_content_is_read_again(tmp_path: Path) -> None:
    content = tmp_path / "content"
    shutil.copytree(FIXTURE_PATH, content)
    before = load_dictionary(content)
    person = content / "elements" / "person.yaml"
    text = person.read_text(encoding="utf-8")
    person.write_text(text.replace("type: boolean", "type: string"), encoding="utf-8")
    changed = load_dictionary(content)
    assert before.elements["person.is_deceased"].type == "boolean"
    assert changed.elements["person.is_deceased"].type == "string"

    person.write_text(text.replace("type: boolean", "type: yes_or_no"), encoding="utf-8")
    with pytest.raises(DictionaryLoadError):
        load_dictionary(content)
