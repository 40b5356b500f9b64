"""Small helpers on dossier values: JSON-ready values, field pointers, whom a component is
about."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from app.filings.models import Filing
from dictionary.procedures import StateComponent


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


def subject_of(
    filing: Filing, component: StateComponent, dossier: Mapping[str, Any] | None = None
) -> str | None:
    """The citizen (or tax code) the component is about, if the dossier already names it."""
    ref = component.subject
    if ref.role == "applicant":
        return filing.applicant_id
    if ref.role == "beneficiary":
        return filing.subject_id
    source = ref.reference
    assert source is not None
    values = filing.dossier if dossier is None else dossier
    value = (values.get(source[0]) or {}).get(source[1])
    return str(value) if value not in (None, "") else None
