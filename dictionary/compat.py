"""Compatibility between record versions.

BACKWARD: a reader on the new version accepts every record written for the old one.
FORWARD: a reader on the old version accepts every record written for the new one.
FULL: both. The *_TRANSITIVE modes check against every earlier version, the others only
against the latest earlier one.

Records are closed (``additionalProperties: false``), so a field that only one side knows
breaks the reader that does not know it. Every change between two versions is listed with
the directions it breaks; a mode keeps the changes that break a direction it promises.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from dictionary.model import (
    CodeList,
    CompatibilityMode,
    Element,
    ObjectSpec,
    PropertyRef,
    RecordVersion,
)

Direction = Literal["BACKWARD", "FORWARD"]
_B: frozenset[Direction] = frozenset({"BACKWARD"})
_F: frozenset[Direction] = frozenset({"FORWARD"})
_BOTH: frozenset[Direction] = _B | _F
_ORDER: tuple[Direction, ...] = ("BACKWARD", "FORWARD")

# Old type -> new types that accept every value of the old one.
_WIDENINGS = {
    ("integer", "decimal"),
    ("code", "string"),
    ("date", "string"),
    ("datetime", "string"),
}
_LOWER_BOUNDS = ("min_length", "minimum", "exclusive_minimum", "min_items")
_UPPER_BOUNDS = ("max_length", "maximum", "exclusive_maximum", "max_items")
_MAX_DEPTH = 32


@dataclass(frozen=True, slots=True)
class Violation:
    kind: str
    field: str
    message: str
    breaks: tuple[Direction, ...]
    against: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "field": self.field,
            "message": self.message,
            "breaks": list(self.breaks),
            "against": self.against,
        }

    def __str__(self) -> str:
        against = f" (against {self.against})" if self.against else ""
        return f"{self.kind} {self.field or '<record>'}: {self.message}{against}"


@dataclass(frozen=True)
class _Shape:
    """What values a field accepts, flattened out of the elements it is built from."""

    type: str
    format: str | None
    codelist: str | None
    codes: frozenset[str] | None
    enum: frozenset[Any] | None
    bounds: Mapping[str, float | int | None]
    pattern: str | None
    properties: Mapping[str, tuple[bool, _Shape]] | None
    items: _Shape | None


def _shape(
    element_id: str,
    elements: Mapping[str, Element],
    codelists: Mapping[str, CodeList],
    depth: int = 0,
) -> _Shape:
    element = elements[element_id]
    constraints = element.constraints
    codes = None
    codelist = codelists.get(element.codelist or "")
    if element.type == "code" and codelist is not None:
        codes = codelist.all_codes
        if constraints.enum is not None:
            codes = codes & frozenset(constraints.enum)
    bounds = {name: getattr(constraints, name) for name in (*_LOWER_BOUNDS, *_UPPER_BOUNDS)}
    properties = None
    items = None
    if depth < _MAX_DEPTH:
        if element.type == "object":
            properties = _properties(element.properties or {}, elements, codelists, depth)
        elif isinstance(element.items, str):
            items = _shape(element.items, elements, codelists, depth + 1)
        elif isinstance(element.items, ObjectSpec):
            items = _Shape(
                "object",
                None,
                None,
                None,
                None,
                {},
                None,
                _properties(element.items.properties, elements, codelists, depth),
                None,
            )
    default_format = {"date": "date", "datetime": "date-time"}.get(element.type)
    return _Shape(
        type=element.type,
        format=element.format or default_format,
        codelist=element.codelist if element.type == "code" else None,
        codes=codes,
        enum=(
            frozenset(constraints.enum)
            if constraints.enum is not None and element.type != "code"
            else None
        ),
        bounds=bounds,
        pattern=constraints.pattern,
        properties=properties,
        items=items,
    )


def _properties(
    properties: Mapping[str, PropertyRef],
    elements: Mapping[str, Element],
    codelists: Mapping[str, CodeList],
    depth: int,
) -> dict[str, tuple[bool, _Shape]]:
    return {
        name: (prop.required, _shape(prop.element, elements, codelists, depth + 1))
        for name, prop in properties.items()
    }


def _field_shape(
    version: RecordVersion, elements: Mapping[str, Element], codelists: Mapping[str, CodeList]
) -> dict[str, tuple[bool, _Shape]]:
    shapes: dict[str, tuple[bool, _Shape]] = {}
    for spec in version.fields:
        single = _shape(spec.element, elements, codelists)
        if spec.is_list:
            bounds: dict[str, float | int | None] = dict.fromkeys((*_LOWER_BOUNDS, *_UPPER_BOUNDS))
            bounds["min_items"] = 1 if spec.cardinality == "1..n" else None
            single = _Shape("array", None, None, None, None, bounds, None, None, single)
        shapes[spec.name] = (spec.required, single)
    return shapes


@dataclass(frozen=True, slots=True)
class _Change:
    kind: str
    field: str
    message: str
    breaks: frozenset[Direction]


def _diff_members(
    old: Mapping[str, tuple[bool, _Shape]],
    new: Mapping[str, tuple[bool, _Shape]],
    prefix: str,
) -> list[_Change]:
    changes: list[_Change] = []
    for name in [*old, *(n for n in new if n not in old)]:
        where = f"{prefix}{name}"
        if name not in new:
            old_required = old[name][0]
            changes.append(
                _Change(
                    "field_removed",
                    where,
                    f"{where} was removed: new readers refuse old records that carry it"
                    + ("; old readers require it" if old_required else ""),
                    _BOTH if old_required else _B,
                )
            )
            continue
        if name not in old:
            if new[name][0]:
                changes.append(
                    _Change(
                        "required_field_added",
                        where,
                        f"{where} was added as required: old records lack it, and old readers "
                        "refuse it as unknown",
                        _BOTH,
                    )
                )
            else:
                changes.append(
                    _Change(
                        "field_added",
                        where,
                        f"{where} was added: old readers refuse records that carry it",
                        _F,
                    )
                )
            continue
        (old_required, old_shape), (new_required, new_shape) = old[name], new[name]
        if new_required and not old_required:
            changes.append(
                _Change(
                    "field_made_required",
                    where,
                    f"{where} became required: old records may lack it",
                    _B,
                )
            )
        elif old_required and not new_required:
            changes.append(
                _Change(
                    "field_made_optional",
                    where,
                    f"{where} became optional: old readers require it",
                    _F,
                )
            )
        changes.extend(_diff_shapes(old_shape, new_shape, where))
    return changes


def _bound_change(where: str, name: str, old: Any, new: Any, lower: bool) -> _Change | None:
    if old == new:
        return None
    if lower:
        tighter = old is None or (new is not None and new > old)
    else:
        tighter = old is None or (new is not None and new < old)
    label = name.replace("_", " ")
    before = "none" if old is None else old
    after = "none" if new is None else new
    if tighter:
        return _Change(
            "constraint_tightened",
            where,
            f"{where}: {label} tightened from {before} to {after}: old records may fail",
            _B,
        )
    return _Change(
        "constraint_loosened",
        where,
        f"{where}: {label} loosened from {before} to {after}: old readers may refuse new records",
        _F,
    )


def _set_change(
    where: str, what: str, old: frozenset[Any] | None, new: frozenset[Any] | None
) -> list[_Change]:
    if old == new:
        return []
    if old is None or new is None:
        added = new is not None
        return [
            _Change(
                "constraint_tightened" if added else "constraint_loosened",
                where,
                f"{where}: a list of allowed {what} was {'added' if added else 'removed'}",
                _B if added else _F,
            )
        ]
    changes = []
    removed, added_values = sorted(old - new, key=str), sorted(new - old, key=str)
    if removed:
        changes.append(
            _Change(
                f"{what}_removed",
                where,
                f"{where}: {what} {', '.join(map(str, removed))} no longer allowed: "
                "old records using them fail",
                _B,
            )
        )
    if added_values:
        changes.append(
            _Change(
                f"{what}_added",
                where,
                f"{where}: {what} {', '.join(map(str, added_values))} newly allowed: "
                "old readers refuse them",
                _F,
            )
        )
    return changes


def _diff_shapes(old: _Shape, new: _Shape, where: str) -> list[_Change]:
    if old.type != new.type:
        if (old.type, new.type) in _WIDENINGS:
            return [
                _Change(
                    "type_widened",
                    where,
                    f"{where}: type widened from {old.type} to {new.type}: old readers may "
                    "refuse new values",
                    _F,
                )
            ]
        if (new.type, old.type) in _WIDENINGS:
            return [
                _Change(
                    "type_narrowed",
                    where,
                    f"{where}: type narrowed from {old.type} to {new.type}: old values may fail",
                    _B,
                )
            ]
        kind = "cardinality_changed" if "array" in (old.type, new.type) else "type_changed"
        return [_Change(kind, where, f"{where}: changed from {old.type} to {new.type}", _BOTH)]
    changes: list[_Change] = []
    if old.format != new.format:
        if old.format is None or new.format is None:
            added = new.format is not None
            changes.append(
                _Change(
                    "constraint_tightened" if added else "constraint_loosened",
                    where,
                    f"{where}: format {new.format if added else old.format} "
                    f"{'added' if added else 'removed'}",
                    _B if added else _F,
                )
            )
        else:
            changes.append(
                _Change(
                    "format_changed",
                    where,
                    f"{where}: format changed from {old.format} to {new.format}",
                    _BOTH,
                )
            )
    if old.pattern != new.pattern:
        if old.pattern is None or new.pattern is None:
            added = new.pattern is not None
            changes.append(
                _Change(
                    "constraint_tightened" if added else "constraint_loosened",
                    where,
                    f"{where}: pattern {'added' if added else 'removed'}",
                    _B if added else _F,
                )
            )
        else:
            changes.append(
                _Change(
                    "pattern_changed",
                    where,
                    f"{where}: pattern changed from {old.pattern!r} to {new.pattern!r}",
                    _BOTH,
                )
            )
    for name in _LOWER_BOUNDS:
        change = _bound_change(where, name, old.bounds.get(name), new.bounds.get(name), True)
        if change:
            changes.append(change)
    for name in _UPPER_BOUNDS:
        change = _bound_change(where, name, old.bounds.get(name), new.bounds.get(name), False)
        if change:
            changes.append(change)
    changes.extend(_set_change(where, "codes", old.codes, new.codes))
    changes.extend(_set_change(where, "values", old.enum, new.enum))
    if old.properties is not None or new.properties is not None:
        changes.extend(_diff_members(old.properties or {}, new.properties or {}, f"{where}."))
    if old.items is not None and new.items is not None:
        changes.extend(_diff_shapes(old.items, new.items, f"{where}[]"))
    return changes


def _diff_rules(old: RecordVersion, new: RecordVersion) -> list[_Change]:
    old_rules = {r.id: r.model_dump(exclude_none=True) for r in old.rules}
    new_rules = {r.id: r.model_dump(exclude_none=True) for r in new.rules}
    changes = []
    for rule_id, body in new_rules.items():
        if rule_id not in old_rules:
            changes.append(
                _Change("rule_added", "", f"rule {rule_id} added: old records may break it", _B)
            )
        elif old_rules[rule_id] != body:
            changes.append(_Change("rule_changed", "", f"rule {rule_id} changed", _BOTH))
    for rule_id in old_rules:
        if rule_id not in new_rules:
            changes.append(
                _Change(
                    "rule_removed",
                    "",
                    f"rule {rule_id} removed: old readers may refuse new records",
                    _F,
                )
            )
    return changes


def diff_versions(
    old: RecordVersion,
    new: RecordVersion,
    elements: Mapping[str, Element],
    codelists: Mapping[str, CodeList],
) -> list[Violation]:
    """Every change from ``old`` to ``new``, each with the directions it breaks."""
    changes = _diff_members(
        _field_shape(old, elements, codelists), _field_shape(new, elements, codelists), ""
    )
    changes += _diff_rules(old, new)
    return [
        Violation(
            c.kind,
            c.field,
            c.message,
            tuple(d for d in _ORDER if d in c.breaks),
            old.version,
        )
        for c in changes
    ]


def directions(mode: CompatibilityMode) -> frozenset[Direction]:
    base = mode.removesuffix("_TRANSITIVE")
    return {"NONE": frozenset(), "BACKWARD": _B, "FORWARD": _F, "FULL": _BOTH}[base]


def check_compatibility(
    mode: CompatibilityMode,
    candidate: RecordVersion,
    previous: Sequence[RecordVersion],
    elements: Mapping[str, Element],
    codelists: Mapping[str, CodeList],
) -> list[Violation]:
    """Violations of ``mode`` by ``candidate`` against ``previous`` (oldest first)."""
    wanted = directions(mode)
    if not wanted or not previous:
        return []
    against: Iterable[RecordVersion] = previous if mode.endswith("_TRANSITIVE") else [previous[-1]]
    violations: list[Violation] = []
    for old in against:
        violations += [
            v
            for v in diff_versions(old, candidate, elements, codelists)
            if wanted.intersection(v.breaks)
        ]
    return violations


def comparable_history(
    versions: Sequence[RecordVersion], candidate: RecordVersion
) -> list[RecordVersion]:
    """The versions a candidate is checked against: the non-draft ones that sort before it."""
    return [v for v in versions if v.status != "draft" and v.semver < candidate.semver]
