"""The tax administration's taxpayer register (General Department of Taxation): taxpayers
by tax code or citizen ID, and tax obligation status. OAuth2 client credentials."""

from __future__ import annotations

from typing import Any

from connectors.adapter import SystemAdapter
from connectors.base import Timeouts

ADAPTER = SystemAdapter(
    system="tax",
    title="Taxpayer register",
    record_types=("Taxpayer", "TaxObligationStatus"),
    auth_kind="oauth2",
    timeouts=Timeouts(connect=2.0, read=5.0, total=10.0),
    max_concurrency=16,
)


def load_mappings() -> list[dict[str, Any]]:
    return ADAPTER.load_mappings()
