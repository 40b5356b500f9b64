"""Roles and the principals that authentication produces."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    admin = "admin"
    consumer = "consumer"
    integrator = "integrator"
    auditor = "auditor"


@dataclass(frozen=True, slots=True)
class ClientPrincipal:
    """An authenticated agency system (API client)."""

    client_id: str
    name: str
    agency: str
    roles: frozenset[str]
    key_id: str

    def has_any(self, roles: frozenset[str]) -> bool:
        return not self.roles.isdisjoint(roles)
