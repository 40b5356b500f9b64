"""The access log's table and an event row as the query modules return it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.audit.models import AuditEvent
from app.audit.serialize import EVENT_COLUMNS

EVENTS = AuditEvent.__table__
# An event's columns as the log core serialises them, then its position in the sealed chain.
COLUMNS: tuple[str, ...] = (*EVENT_COLUMNS, "leaf_index")


def _event_dict(row: Mapping[str, Any]) -> dict[str, Any]:
    out = {name: row[name] for name in COLUMNS}
    out["fields"] = list(out["fields"] or [])
    out["details"] = dict(out["details"] or {})
    return out
