"""The registry of national system kinds: ``adapter("civil-status")`` and friends."""

from __future__ import annotations

from typing import Any

from connectors import civil_status, land, population, tax
from connectors.adapter import SystemAdapter

ADAPTERS: dict[str, SystemAdapter] = {
    module.ADAPTER.system: module.ADAPTER for module in (population, civil_status, land, tax)
}


def adapter(system: str) -> SystemAdapter:
    """The adapter of a system kind; ``civil-status`` and ``civil_status`` are the same."""
    try:
        return ADAPTERS[system.replace("-", "_")]
    except KeyError:
        raise KeyError(f"unknown system {system!r}; known: {', '.join(ADAPTERS)}") from None


def system_of(record_type: str) -> SystemAdapter:
    """The adapter of the system that serves ``record_type``."""
    for candidate in ADAPTERS.values():
        if record_type in candidate.record_types:
            return candidate
    raise KeyError(f"no system serves record type {record_type!r}")


def load_mappings(system: str) -> list[dict[str, Any]]:
    """The shipped mapping specs of a system (``connectors/mappings/<system>.*.yaml``)."""
    return adapter(system).load_mappings()
