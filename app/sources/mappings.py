"""The mappings of a connector: the shipped ones, and resolving and compiling the ones a
registration names or carries against the dictionary (422 listing every problem)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from app.sources.errors import InvalidMapping
from app.sources.schemas import MappingIn
from connectors.mapping import MappingError, compile_mapping
from connectors.systems import ADAPTERS
from dictionary import Dictionary


@lru_cache(maxsize=1)
def shipped_mappings() -> dict[str, dict[str, Any]]:
    """The mappings shipped in ``connectors/mappings/``, by their ``id`` (``system.Record``)."""
    return {
        str(spec["id"]): spec
        for system in ADAPTERS.values()
        for spec in system.load_mappings()
        if spec.get("id")
    }


def _resolve_mappings(
    system: str, entries: Sequence[str | MappingIn], where: str
) -> tuple[list[tuple[str, dict[str, Any], str | None]], list[dict[str, Any]]]:
    """(record type, spec, shipped name) per entry, and the problems found."""
    resolved: list[tuple[str, dict[str, Any], str | None]] = []
    problems: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        item = MappingIn(record_type=entry) if isinstance(entry, str) else entry
        path = f"/{where}/{index}"
        if item.record_type in seen:
            problems.append(
                {
                    "path": path + "/record_type",
                    "code": "duplicate_record_type",
                    "message": f"{item.record_type} is listed twice.",
                }
            )
            continue
        seen.add(item.record_type)
        if item.mapping is not None and item.shipped is not None:
            problems.append(
                {
                    "path": path,
                    "code": "ambiguous_mapping",
                    "message": "Give either an inline mapping or a shipped one, not both.",
                }
            )
            continue
        if item.mapping is not None:
            spec = dict(item.mapping)
            spec.setdefault("record_type", item.record_type)
            spec.setdefault("system", system)
            resolved.append((item.record_type, spec, None))
            continue
        name = item.shipped or f"{system}.{item.record_type}"
        shipped = shipped_mappings().get(name)
        if shipped is None:
            problems.append(
                {
                    "path": path + ("/shipped" if item.shipped else "/record_type"),
                    "code": "unknown_shipped_mapping",
                    "message": f"No shipped mapping {name!r}; known: "
                    f"{', '.join(sorted(shipped_mappings())) or 'none'}.",
                }
            )
            continue
        resolved.append((item.record_type, dict(shipped), name))
    return resolved, problems


def check_mappings(
    dictionary: Dictionary,
    system: str,
    entries: Sequence[str | MappingIn],
    where: str = "record_types",
) -> list[tuple[str, dict[str, Any], str | None]]:
    """Resolve and compile every mapping; refuse with 422 listing every problem."""
    resolved, problems = _resolve_mappings(system, entries, where)
    positions = {(e if isinstance(e, str) else e.record_type): i for i, e in enumerate(entries)}
    for record_type_name, spec, _shipped in resolved:
        base = f"/{where}/{positions[record_type_name]}"
        record_type = dictionary.record_types.get(record_type_name)
        if record_type is None:
            problems.append(
                {
                    "path": base + "/record_type",
                    "code": "unknown_record_type",
                    "message": f"The dictionary has no record type {record_type_name!r}.",
                }
            )
            continue
        if record_type.owner_system != system:
            problems.append(
                {
                    "path": base + "/record_type",
                    "code": "wrong_system",
                    "message": f"{record_type_name} is held by {record_type.owner_system}, "
                    f"not {system}.",
                }
            )
        if spec.get("record_type") != record_type_name:
            problems.append(
                {
                    "path": base + "/mapping/record_type",
                    "code": "record_type_mismatch",
                    "message": f"The mapping is for {spec.get('record_type')!r}, "
                    f"not {record_type_name}.",
                }
            )
            continue
        try:
            compile_mapping(spec, dictionary)
        except MappingError as exc:
            for problem in exc.problems:
                problems.append(
                    {
                        "path": f"{base}/mapping/{problem['path'].replace('.', '/')}",
                        "code": problem["code"],
                        "message": problem["message"],
                    }
                )
    if problems:
        raise InvalidMapping(
            "The connector's mappings do not fit the dictionary; every problem is listed.",
            errors=problems,
        )
    return resolved
