"""The land database (Ministry of Agriculture and Environment): parcels and land-use-right
certificates by owner citizen ID. A static API key; an older, slower system."""

from __future__ import annotations

from typing import Any

from connectors.adapter import SystemAdapter
from connectors.base import Timeouts

ADAPTER = SystemAdapter(
    system="land",
    title="Land database",
    record_types=("LandParcel", "LandUseRightCertificate"),
    auth_kind="api_key",
    timeouts=Timeouts(connect=2.0, read=8.0, total=15.0),
    max_concurrency=8,
)


def load_mappings() -> list[dict[str, Any]]:
    return ADAPTER.load_mappings()
