"""The electronic civil-status register (Ministry of Justice): birth, marriage and death
registrations and marital-status certificates. OAuth2 client credentials."""

from __future__ import annotations

from typing import Any

from connectors.adapter import SystemAdapter
from connectors.base import Timeouts

ADAPTER = SystemAdapter(
    system="civil_status",
    title="Civil-status register",
    record_types=(
        "BirthRegistration",
        "MarriageRegistration",
        "DeathRegistration",
        "MaritalStatusCertificate",
    ),
    auth_kind="oauth2",
    timeouts=Timeouts(connect=2.0, read=5.0, total=10.0),
    max_concurrency=16,
)


def load_mappings() -> list[dict[str, Any]]:
    return ADAPTER.load_mappings()
