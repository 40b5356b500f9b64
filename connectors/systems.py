"""The registry of national system kinds: ``adapter("civil-status")`` and friends.

One row per system: what it serves, how it authenticates, and the connection defaults that
suit it. The mappings themselves are data under ``connectors/mappings/``."""

from __future__ import annotations

from typing import Any

from connectors.adapter import SystemAdapter
from connectors.base import Timeouts

ADAPTERS: dict[str, SystemAdapter] = {
    adapter.system: adapter
    for adapter in (
        # The national population database (C06, Ministry of Public Security): persons,
        # residence and households by citizen ID. Fast and heavily used.
        SystemAdapter(
            system="population",
            title="National population database",
            record_types=("Person", "Residence", "Household"),
            auth_kind="api_key",
            timeouts=Timeouts(connect=1.0, read=3.0, total=8.0),
            max_concurrency=64,
        ),
        # The electronic civil-status register (Ministry of Justice).
        SystemAdapter(
            system="civil_status",
            title="Civil-status register",
            record_types=(
                "BirthRegistration",
                "MarriageRegistration",
                "DeathRegistration",
                "MaritalStatusCertificate",
                "MedicalBirthCertificate",
            ),
            auth_kind="oauth2",
            timeouts=Timeouts(connect=2.0, read=5.0, total=10.0),
            max_concurrency=16,
        ),
        # The land database (Ministry of Agriculture and Environment): parcels and
        # land-use-right certificates by owner citizen ID. An older, slower system.
        SystemAdapter(
            system="land",
            title="Land database",
            record_types=("LandParcel", "LandUseRightCertificate"),
            auth_kind="api_key",
            timeouts=Timeouts(connect=2.0, read=8.0, total=15.0),
            max_concurrency=8,
        ),
        # The taxpayer register (General Department of Taxation), by tax code or citizen ID.
        SystemAdapter(
            system="tax",
            title="Taxpayer register",
            record_types=("Taxpayer", "TaxObligationStatus"),
            auth_kind="oauth2",
            timeouts=Timeouts(connect=2.0, read=5.0, total=10.0),
            max_concurrency=16,
        ),
    )
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
