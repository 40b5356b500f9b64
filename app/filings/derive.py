"""Derived fields: values a procedure takes from elsewhere in the dossier, or from the
applicant, instead of asking for them (``derived_from`` in the procedure's YAML).

A derivation *applies* when each of its conditions holds and its source can still give a
value: the applicant's ID always; a field of an applicant component always (the applicant
types it there); a field of a state component unless its pull failed and left it empty (then
the next derivation is tried, and with none the applicant types the field). A condition that
reads a record not pulled yet keeps the field for the derivation, without a value, until the
pull decides it; a condition on a value nobody has given yet fails. While one applies, the
field follows its source (or is the derivation's constant, a relationship that the records
its conditions read establish) and a PATCH may not set it.

Its provenance says which pointer it came from (``derived_from``: the source, or for a
constant the field its first condition reads). A value derived from state data keeps that
field's provenance (system, reference, verified), so it counts as pre-filled; one derived
from the applicant's ID or from a typed value has ``source_system`` ``applicant`` and counts
as neither typed nor pre-filled (:mod:`app.filings.counts`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from app.filings.values import pointer, value_at
from app.timestamps import utcnow
from dictionary.formats import decode_citizen_id, nfc
from dictionary.procedures import Derivation, DerivationCondition, Procedure, StateComponent

NOT_FROM_STATE = "applicant"
_MAX_ROUNDS = 8  # a derivation may read a derived value; lint refuses cycles


def _pointer_of(ref: str) -> str:
    return pointer(*ref.split(".", 1))


def read(applicant_id: str, dossier: Mapping[str, Any], ref: str) -> Any:
    """The value at ``component.field``, or an attribute of the applicant."""
    owner, name = ref.split(".", 1)
    if owner != "applicant":
        return value_at(dossier, _pointer_of(ref))
    if name == "citizen_id":
        return applicant_id
    parts = decode_citizen_id(applicant_id)
    return parts.sex if parts is not None else None


def _same(left: Any, right: Any) -> bool:
    if isinstance(left, str) and isinstance(right, str):
        return nfc(left).strip().casefold() == nfc(right).strip().casefold()
    return bool(left == right) and type(left) is type(right)


def _day(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10]) if value is not None else None
    except ValueError:
        return None


def _not_yet_pulled(procedure: Procedure, ref: str, states: Mapping[str, Any]) -> bool:
    component = procedure.component(ref.split(".", 1)[0])
    status = (states.get(component.id) or {}).get("status", "pending") if component else None
    return isinstance(component, StateComponent) and status == "pending"


def _holds(condition: DerivationCondition, applicant_id: str, dossier: Mapping[str, Any]) -> bool:
    value = read(applicant_id, dossier, condition.field)
    if value is None:
        return False
    if condition.equals:
        return any(_same(value, wanted) for wanted in condition.equals)
    if condition.equals_field is not None:
        other = read(applicant_id, dossier, condition.equals_field)
        return other is not None and _same(value, other)
    limit = read(applicant_id, dossier, condition.not_after) if condition.not_after else None
    day, last = _day(value), _day(limit)
    return day is not None and last is not None and day <= last


def _applies(
    procedure: Procedure,
    derivation: Derivation,
    applicant_id: str,
    dossier: Mapping[str, Any],
    states: Mapping[str, Any],
) -> tuple[bool, bool]:
    """Whether the derivation applies, and whether it may give its value yet: a condition on
    a record not pulled yet holds the field for the derivation (the applicant is not asked)
    without a value until the pull decides it."""
    waiting = False
    for condition in derivation.conditions:
        if _holds(condition, applicant_id, dossier):
            continue
        if not any(_not_yet_pulled(procedure, r, states) for r in condition.reads):
            return False, False
        waiting = True
    if derivation.source is None:
        return True, not waiting
    source = procedure.component(derivation.source.split(".", 1)[0])
    if isinstance(source, StateComponent):
        failed = (states.get(source.id) or {}).get("status") == "failed"
        if failed and read(applicant_id, dossier, derivation.source) is None:
            return False, False
    return True, not waiting


def _value(derivation: Derivation, applicant_id: str, dossier: Mapping[str, Any]) -> Any:
    if derivation.source is None:
        return derivation.value
    return read(applicant_id, dossier, derivation.source)


def applying(
    procedure: Procedure,
    applicant_id: str,
    dossier: Mapping[str, Any],
    states: Mapping[str, Any],
) -> dict[str, Derivation]:
    """The derivation that applies to each derived field, by JSON Pointer."""
    return {p: d for p, (d, _) in _applying(procedure, applicant_id, dossier, states).items()}


def _applying(
    procedure: Procedure,
    applicant_id: str,
    dossier: Mapping[str, Any],
    states: Mapping[str, Any],
) -> dict[str, tuple[Derivation, bool]]:
    found: dict[str, tuple[Derivation, bool]] = {}
    for ref, item in procedure.derived_fields.items():
        for derivation in item.derived_from:
            applies, decided = _applies(procedure, derivation, applicant_id, dossier, states)
            if applies:
                found[_pointer_of(ref)] = (derivation, decided)
                break
    return found


def _origin(source: str, provenance: Mapping[str, Any]) -> dict[str, Any]:
    """The provenance of a value derived from ``source`` (for a constant, the record its
    condition reads)."""
    pulled = provenance.get(_pointer_of(source)) if not source.startswith("applicant.") else None
    if pulled is not None and pulled.get("source_system") != NOT_FROM_STATE:
        return {**pulled, "derived_from": source}
    return {
        "source_system": NOT_FROM_STATE,
        "connector_id": None,
        "source_reference": None,
        "retrieved_at": utcnow().isoformat(),
        "last_updated": None,
        "dictionary_version": None,
        "verified": False,
        "from_filing": None,
        "basis": {"kind": "derived", "reference": source},
        "derived_from": source,
    }


def _unchanged(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> bool:
    if old is None:
        return False
    keep = {k: v for k, v in old.items() if k != "retrieved_at"}
    return keep == {k: v for k, v in new.items() if k != "retrieved_at"}


def derive(
    procedure: Procedure,
    applicant_id: str,
    states: Mapping[str, Any],
    dossier: dict[str, dict[str, Any]],
    provenance: dict[str, Any],
    typed: list[str],
) -> tuple[list[str], set[str]]:
    """Fill every derived field from its source, in place; returns the pointers changed and
    those whose derivation applies. A field whose derivation no longer applies loses its
    derived value (the applicant types it)."""
    changed: list[str] = []
    active: dict[str, tuple[Derivation, bool]] = {}
    for _ in range(_MAX_ROUNDS):
        active = _applying(procedure, applicant_id, dossier, states)
        moved = False
        for ref in procedure.derived_fields:
            path = _pointer_of(ref)
            component_id, name = ref.split(".", 1)
            values = dossier.setdefault(component_id, {})
            origin = provenance.get(path)
            found = active.get(path)
            if found is None:
                if origin is not None and origin.get("derived_from"):
                    values.pop(name, None)
                    provenance.pop(path, None)
                    changed.append(path)
                    moved = True
                continue
            if path in typed:
                typed.remove(path)
            derivation, decided = found
            value = _value(derivation, applicant_id, dossier) if decided else None
            if value is None:
                if name in values or origin is not None:
                    values.pop(name, None)
                    provenance.pop(path, None)
                    changed.append(path)
                    moved = True
                continue
            new_origin = _origin(derivation.evidence, provenance)
            if values.get(name) == value and _unchanged(origin, new_origin):
                continue
            values[name] = value
            provenance[path] = new_origin
            changed.append(path)
            moved = True
        if not moved:
            break
    for component_id in [k for k, v in dossier.items() if not v]:
        del dossier[component_id]
    return sorted(set(changed)), set(active)
