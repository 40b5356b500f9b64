"""Small helpers on dossier values: the clock, JSON-ready values, field pointers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson


def json_ready(value: Any) -> Any:
    """``value`` as plain JSON data (dates as ISO strings), fit for a JSON column."""
    return orjson.loads(orjson.dumps(value, default=str))


def pointer(component_id: str, field_name: str) -> str:
    return f"/{component_id}/{field_name}"


def split_pointer(path: str) -> tuple[str, str] | None:
    """``/component/field`` (or ``component.field``) -> (component, field)."""
    parts = path.strip("/").split("/") if path.startswith("/") else path.split(".")
    if len(parts) != 2 or not all(parts):
        return None
    return parts[0], parts[1]


def value_at(dossier: Mapping[str, Any], path: str) -> Any:
    parts = split_pointer(path)
    if parts is None:
        return None
    return (dossier.get(parts[0]) or {}).get(parts[1])
