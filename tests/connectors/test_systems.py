"""The system adapters: one per source system, with its record types and shipped mappings.
No network."""

from __future__ import annotations

from connectors.mapping import compile_mapping
from connectors.systems import ADAPTERS, adapter, system_of
from dictionary import load_dictionary


def test_every_system_has_an_adapter_with_defaults() -> None:
    dictionary = load_dictionary()
    assert set(ADAPTERS) == {"population", "civil_status", "land", "tax"}
    served = [rt for a in ADAPTERS.values() for rt in a.record_types]
    assert sorted(served) == sorted(dictionary.record_types)
    for name, kind in ADAPTERS.items():
        for record_type in kind.record_types:
            assert dictionary.record_type(record_type).owner_system == name
            assert system_of(record_type) is kind
    assert adapter("civil-status").mock_name == "civil-status"
    config = adapter("land").config("http://127.0.0.1:1", {"kind": "api_key", "key": "k"})
    assert config.system == "land" and config.max_concurrency == ADAPTERS["land"].max_concurrency


def test_shipped_mappings_compile_against_the_dictionary() -> None:
    dictionary = load_dictionary()
    for kind in ADAPTERS.values():
        compiled = set()
        for spec in kind.load_mappings():
            mapping = compile_mapping(spec, dictionary)
            assert mapping.record_type in kind.record_types, spec.get("id")
            compiled.add(mapping.record_type)
        assert compiled == set(kind.record_types), kind.system
