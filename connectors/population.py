"""The national population database (C06, Ministry of Public Security): persons,
residence and households by citizen ID. A static API key; fast and heavily used."""

from __future__ import annotations

from typing import Any

from connectors.adapter import SystemAdapter
from connectors.base import Timeouts

ADAPTER = SystemAdapter(
    system="population",
    title="National population database",
    record_types=("Person", "Residence", "Household"),
    auth_kind="api_key",
    timeouts=Timeouts(connect=1.0, read=3.0, total=8.0),
    max_concurrency=64,
)


def load_mappings() -> list[dict[str, Any]]:
    return ADAPTER.load_mappings()
