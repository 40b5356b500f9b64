"""The dictionary registry's refusals, each with a stable code and status (docs/contracts.md)."""

from __future__ import annotations

from app.errors import Conflict


class InvalidStatusTransition(Conflict):
    """Versions move draft -> published -> deprecated, one step at a time, never back."""

    status, code, title = 409, "invalid_status_transition", "Invalid status transition"


class IncompatibleVersion(Conflict):
    status, code, title = 409, "incompatible_version", "Incompatible version"
