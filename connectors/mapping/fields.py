"""The field compiler: one field of a mapping checked against its dictionary element and
turned into a ``_FieldPlan`` (a getter and a tuple of steps)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dictionary import Dictionary, RecordValidator
from dictionary.model import Element, ObjectSpec

from .apply import _absent, _constant, _each_object, _each_value, _FieldPlan, _identity
from .errors import _Problems
from .paths import Getter, _joiner, make_getter
from .transforms import (
    _NAMED_STEPS,
    DICT_TRANSFORMS,
    NAMED_TRANSFORMS,
    NUMBER_STYLES,
    Step,
    _codes_step,
    _date_step,
    _decimal_comma,
    _decimal_point,
    _integral,
    _iso_date,
    _iso_datetime,
    _kind_of,
    _split_step,
    _zfill_step,
    check_date_format,
)

FIELD_KEYS = frozenset(
    {
        "from",
        "join",
        "sep",
        "const",
        "default",
        "split",
        "transforms",
        "codes",
        "date_format",
        "datetime_format",
        "number",
        "items",
        "each",
    }
)

# What a value kind can become without loss: output kind -> target dictionary types.
_FITS: dict[str, frozenset[str]] = {
    "any": frozenset(
        {"string", "integer", "decimal", "boolean", "date", "datetime", "code", "object", "list"}
    ),
    "string": frozenset({"string", "code", "date", "datetime"}),
    "integer": frozenset({"integer", "decimal"}),
    "number": frozenset({"integer", "decimal"}),
    "boolean": frozenset({"boolean"}),
    "date": frozenset({"date", "datetime", "string"}),
    "list": frozenset({"list"}),
    "object": frozenset({"object"}),
}


class _FieldCompiler:
    def __init__(
        self, dictionary: Dictionary, validator: RecordValidator, problems: _Problems
    ) -> None:
        self.dictionary = dictionary
        self.validator = validator
        self.problems = problems

    def compile_field(self, name: str, spec: Any) -> _FieldPlan | None:
        where = f"fields.{name}"
        field_spec = self.validator.record_version.field(name)
        if field_spec is None:
            known = ", ".join(f.name for f in self.validator.record_version.fields)
            self.problems.add(
                where,
                "unknown_element",
                f"{name!r} is not a field of {self.validator.record_type} "
                f"{self.validator.version} (fields: {known})",
            )
            return None
        element = self.dictionary.elements[field_spec.element]
        target = "list" if field_spec.is_list else element.type
        item_element: Element | None = element if field_spec.is_list else None
        return self.compile_spec(name, where, spec, target, element, item_element, top=True)

    def compile_spec(
        self,
        name: str,
        where: str,
        spec: Any,
        target: str,
        element: Element,
        item_element: Element | None,
        *,
        top: bool,
        source_optional: bool = False,
    ) -> _FieldPlan | None:
        if isinstance(spec, str):
            spec = {"from": spec}
        if not isinstance(spec, Mapping):
            self.problems.add(where, "invalid_spec", "a field is a source path or an object")
            return None
        before = len(self.problems.items)
        for key in spec:
            if key not in FIELD_KEYS:
                self.problems.add(
                    f"{where}.{key}",
                    "unknown_transform",
                    f"unknown transform {key!r} (known: {', '.join(sorted(FIELD_KEYS))})",
                )
        sources = [k for k in ("from", "join", "const") if k in spec]
        get: Getter | None = None
        kind = "any"
        if len(sources) > 1:
            self.problems.add(where, "invalid_spec", f"use one of from, join, const, not {sources}")
        elif "const" in spec:
            const = spec["const"]
            get = _constant(const)
            kind = _kind_of(const)
            self._check_codes(f"{where}.const", element, [const])
        elif "join" in spec:
            parts = spec["join"]
            if (
                not isinstance(parts, list)
                or not parts
                or not all(isinstance(p, str) for p in parts)
            ):
                self.problems.add(f"{where}.join", "invalid_spec", "join lists source paths")
            else:
                sep = spec.get("sep", " ")
                get = _joiner(parts, str(sep))
                kind = "string"
        elif "from" in spec:
            source = spec["from"]
            if not isinstance(source, str) or not source:
                self.problems.add(f"{where}.from", "missing_from", "from names a source path")
            else:
                try:
                    get = make_getter(source)
                except ValueError as exc:
                    self.problems.add(f"{where}.from", "invalid_spec", str(exc))
        elif source_optional:
            get = _identity
        elif "default" not in spec:
            self.problems.add(
                where, "missing_from", f"{name!r} has no source: give from, join or const"
            )
        if get is None and "default" in spec and not sources:
            get = _absent

        steps: list[Step] = []
        if "split" in spec:
            kind = self._add_dict_step(where, "split", spec["split"], steps, kind, target)
        transforms = spec.get("transforms", [])
        if not isinstance(transforms, list):
            self.problems.add(f"{where}.transforms", "invalid_spec", "transforms is a list")
            transforms = []
        for index, transform in enumerate(transforms):
            step_where = f"{where}.transforms[{index}]"
            if isinstance(transform, str):
                if transform not in _NAMED_STEPS:
                    self.problems.add(
                        step_where,
                        "unknown_transform",
                        f"unknown transform {transform!r} "
                        f"(known: {', '.join(sorted(NAMED_TRANSFORMS))})",
                    )
                    continue
                step, kind = _NAMED_STEPS[transform]
                if transform in ("iso_date", "iso_datetime") and target == "datetime":
                    step = _iso_datetime
                steps.append(step)
            elif isinstance(transform, Mapping) and len(transform) == 1:
                ((key, argument),) = transform.items()
                if key not in DICT_TRANSFORMS:
                    self.problems.add(step_where, "unknown_transform", f"unknown transform {key!r}")
                    continue
                kind = self._add_dict_step(step_where, key, argument, steps, kind, target, element)
            else:
                self.problems.add(
                    step_where, "invalid_spec", "a transform is a name or a one-key object"
                )
        for key in ("codes", "date_format", "datetime_format", "number"):
            if key in spec:
                kind = self._add_dict_step(
                    f"{where}.{key}", key, spec[key], steps, kind, target, element
                )

        if target == "list":
            kind = self._list_items(name, where, spec, element, item_element, steps, kind)
        elif "items" in spec or "each" in spec:
            self.problems.add(where, "type_mismatch", f"items/each need a list; {name} is {target}")
        if target == "object" and kind not in ("any", "object"):
            self.problems.add(where, "type_mismatch", f"{name} is an object; this gives {kind}")
        elif kind not in _FITS or target not in _FITS[kind]:
            self.problems.add(
                where,
                "type_mismatch",
                f"{name} is of type {target}, but this mapping produces {kind}",
            )
        elif kind == "number" and target == "integer":
            steps.append(_integral)

        has_default = "default" in spec
        default = spec.get("default")
        if has_default:
            default_kind = _kind_of(default)
            if default is None or target not in _FITS.get(default_kind, frozenset()):
                self.problems.add(
                    f"{where}.default",
                    "type_mismatch",
                    f"default {default!r} is not a value of type {target}",
                )
            self._check_codes(f"{where}.default", element, [default])
        if len(self.problems.items) != before or get is None:
            return None
        return _FieldPlan(name, get, tuple(steps), has_default, default)

    def _add_dict_step(
        self,
        where: str,
        key: str,
        argument: Any,
        steps: list[Step],
        kind: str,
        target: str,
        element: Element | None = None,
    ) -> str:
        if key == "split":
            if not isinstance(argument, Mapping) or not isinstance(argument.get("index", 0), int):
                self.problems.add(where, "invalid_spec", "split is {sep: ' ', index: -1}")
                return kind
            sep = argument.get("sep")
            steps.append(_split_step(None if sep in (None, " ") else str(sep), argument["index"]))
            return "string"
        if key == "codes":
            if not isinstance(argument, Mapping) or not argument:
                self.problems.add(where, "invalid_spec", "codes maps source codes to codes")
                return kind
            table = {str(k): v for k, v in argument.items()}
            if element is not None:
                self._check_codes(where, element, [v for v in table.values() if v is not None])
            steps.append(_codes_step(table))
            kinds = {_kind_of(v) for v in table.values() if v is not None}
            return kinds.pop() if len(kinds) == 1 else "any"
        if key in ("date_format", "datetime_format"):
            if argument == "iso":
                steps.append(_iso_datetime if target == "datetime" else _iso_date)
                return "date"
            why = check_date_format(argument)
            if why is not None:
                self.problems.add(where, "bad_date_format", why)
                return "date"
            steps.append(_date_step(str(argument), as_datetime=target == "datetime"))
            return "date"
        if key == "number":
            if argument not in NUMBER_STYLES:
                self.problems.add(
                    where,
                    "unknown_transform",
                    f"number is one of {sorted(NUMBER_STYLES)}, not {argument!r}",
                )
                return kind
            steps.append(_decimal_comma if argument == "decimal_comma" else _decimal_point)
            return "number"
        if key == "zfill":
            if not isinstance(argument, int) or isinstance(argument, bool) or argument < 1:
                self.problems.add(where, "invalid_spec", "zfill is a positive width")
                return kind
            steps.append(_zfill_step(argument))
            return "string"
        self.problems.add(where, "unknown_transform", f"unknown transform {key!r}")
        return kind

    def _check_codes(self, where: str, element: Element, values: list[Any]) -> None:
        if element.type != "code" or element.codelist is None:
            return
        codelist = self.dictionary.codelists.get(element.codelist)
        if codelist is None:
            return
        known = codelist.all_codes
        unknown = sorted(str(v) for v in values if not (isinstance(v, str) and v in known))
        if unknown:
            self.problems.add(
                where,
                "unknown_code",
                f"{', '.join(map(repr, unknown))} not in code list {element.codelist}",
            )

    def _list_items(
        self,
        name: str,
        where: str,
        spec: Mapping[str, Any],
        element: Element,
        item_element: Element | None,
        steps: list[Step],
        kind: str,
    ) -> str:
        """A list field: ``items`` maps the properties of object items, ``each`` converts
        scalar items; either runs once per item of the source list."""
        if steps:
            self.problems.add(
                where, "type_mismatch", f"{name} is a list; convert its items with items/each"
            )
            return kind
        if "items" in spec and "each" in spec:
            self.problems.add(where, "invalid_spec", "give items or each, not both")
            return kind
        if item_element is not None:
            single, single_type = item_element, item_element.type
        elif isinstance(element.items, str):
            single = self.dictionary.elements[element.items]
            single_type = single.type
        else:
            single, single_type = element, "object"
        object_props = (
            element.items.properties
            if item_element is None and isinstance(element.items, ObjectSpec)
            else (single.properties if single_type == "object" else None)
        )
        if "items" in spec:
            if object_props is None:
                self.problems.add(
                    f"{where}.items", "type_mismatch", f"{name} items are not objects"
                )
                return kind
            sub_spec = spec["items"]
            if not isinstance(sub_spec, Mapping):
                self.problems.add(f"{where}.items", "invalid_spec", "items maps item properties")
                return kind
            sub_plans: list[_FieldPlan] = []
            for prop, prop_spec in sub_spec.items():
                ref = object_props.get(str(prop))
                if ref is None:
                    self.problems.add(
                        f"{where}.items.{prop}",
                        "unknown_element",
                        f"{prop!r} is not a property of {name} items "
                        f"(properties: {', '.join(object_props)})",
                    )
                    continue
                prop_element = self.dictionary.elements[ref.element]
                plan = self.compile_spec(
                    str(prop),
                    f"{where}.items.{prop}",
                    prop_spec,
                    prop_element.type,
                    prop_element,
                    None,
                    top=False,
                )
                if plan is not None:
                    sub_plans.append(plan)
            steps.append(_each_object(tuple(sub_plans), name))
            return "list"
        if "each" in spec:
            plan = self.compile_spec(
                name,
                f"{where}.each",
                spec["each"],
                single_type,
                single,
                None,
                top=False,
                source_optional=True,
            )
            if plan is not None:
                steps.append(_each_value(plan, name))
            return "list"
        return kind
