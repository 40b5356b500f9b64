"""Record version -> JSON Schema 2020-12 -> compiled jsonschema-rs validator.

The fast path for a valid record is one ``is_valid`` call in Rust plus cheap Python checks;
detailed errors are built only when that call says no.

Code lists are versioned in time, so the allowed codes of a code field depend on the date a
record is checked "as of". Rather than checking codes in Python, each combination of code
list versions in force (an *epoch*: it changes only when some code list gets a new version)
gets its own schema, with the codes as ``enum``, compiled once and cached. The schema served
as the record's JSON Schema is today's epoch's, so any standard validator given it agrees
with the hub on everything but the cross-field rules.

Strings are validated in NFC. Normalising a whole record on every call would cost more than
the Rust validation itself, so the fast path looks only at the fields where a *valid* value
can still be other than NFC: free text. Everything else (codes, dates, IDs, names, whose hub
format refuses non-NFC text) is ASCII or NFC once it passes; a non-NFC value there makes the
fast check fail, and the slow path normalises the whole record and validates it again before
it reports anything. Either way the verdict is the one for the NFC record.
"""

from __future__ import annotations

import copy
import time
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from typing import Any

import jsonschema_rs

from dictionary.errors import CompileError
from dictionary.formats import ASCII_ONLY_FORMATS, HUB_FORMATS, KNOWN_FORMATS, NFC_ONLY_FORMATS
from dictionary.model import (
    CodeList,
    CodeListVersion,
    Element,
    FieldSpec,
    ObjectSpec,
    PropertyRef,
    RecordType,
    RecordVersion,
    ValidationIssue,
)
from dictionary.rules import CompiledRule, compile_rules, run_rules

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
_JSON_TYPES = {
    "string": "string",
    "integer": "integer",
    "decimal": "number",
    "boolean": "boolean",
    "date": "string",
    "datetime": "string",
    "code": "string",
    "object": "object",
    "list": "array",
}
_DEFAULT_FORMATS = {"date": "date", "datetime": "date-time"}
_CONSTRAINT_KEYWORDS = {
    "min_length": "minLength",
    "max_length": "maxLength",
    "pattern": "pattern",
    "minimum": "minimum",
    "maximum": "maximum",
    "exclusive_minimum": "exclusiveMinimum",
    "exclusive_maximum": "exclusiveMaximum",
    "min_items": "minItems",
    "max_items": "maxItems",
}
_ISSUE_CODES = {
    "Type": "type",
    "Pattern": "pattern",
    "MinLength": "min_length",
    "MaxLength": "max_length",
    "Minimum": "minimum",
    "ExclusiveMinimum": "minimum",
    "Maximum": "maximum",
    "ExclusiveMaximum": "maximum",
    "MinItems": "min_items",
    "MaxItems": "max_items",
    "UniqueItems": "unique_items",
    "MultipleOf": "multiple_of",
    "Constant": "enum",
}
# Schemas for dates never before seen are compiled on demand; this bounds the per-date memo.
_MAX_MEMO_DATES = 4096
_now = time.time
_is_normalized = unicodedata.is_normalized


def _refuse_retrieval(uri: str) -> Any:
    raise ValueError(f"the hub never fetches schemas over the network ({uri})")


# ---------------------------------------------------------------------------------------------
# References


Problem = tuple[str, str]  # (stable code, message)


def reference_problems(
    version: RecordVersion, elements: Mapping[str, Element], codelists: Mapping[str, CodeList]
) -> list[Problem]:
    """Every dangling reference of a version: field -> element, element -> code list or items,
    rule -> field. Elements are followed through objects and lists."""
    problems: list[Problem] = []
    seen: set[str] = set()

    def visit(element_id: str, where: str, stack: tuple[str, ...]) -> None:
        element = elements.get(element_id)
        if element is None:
            problems.append(
                ("dangling_reference", f"{where} refers to unknown element {element_id!r}")
            )
            return
        if element_id in stack:
            cycle = " -> ".join((*stack, element_id))
            problems.append(("element_cycle", f"element {element_id} contains itself: {cycle}"))
            return
        if element_id in seen:
            return
        seen.add(element_id)
        problems.extend(p for p in element_problems(element, codelists) if p not in problems)
        for ref_where, ref in _element_refs(element):
            visit(ref, f"element {element_id} {ref_where}", (*stack, element_id))

    for spec in version.fields:
        visit(spec.element, f"field {spec.name}", ())
    names = {f.name for f in version.fields}
    for rule in version.rules:
        for name in rule.fields:
            if name not in names:
                problems.append(
                    ("dangling_reference", f"rule {rule.id} refers to unknown field {name!r}")
                )
    return list(dict.fromkeys(problems))


def _element_refs(element: Element) -> list[tuple[str, str]]:
    refs: list[tuple[str, str]] = []
    if isinstance(element.items, str):
        refs.append(("items", element.items))
    elif isinstance(element.items, ObjectSpec):
        refs += [(f"items.{n}", p.element) for n, p in element.items.properties.items()]
    for name, prop in (element.properties or {}).items():
        refs.append((f"property {name}", prop.element))
    return refs


def element_problems(element: Element, codelists: Mapping[str, CodeList]) -> list[Problem]:
    """What is wrong with one element on its own: its code list, format and structure."""
    problems: list[Problem] = []
    where = f"element {element.id}"
    if element.type == "code":
        if element.codelist is None:
            problems.append(("missing_codelist", f"{where} is of type code but names no codelist"))
        elif element.codelist not in codelists:
            problems.append(
                ("dangling_reference", f"{where} refers to unknown codelist {element.codelist!r}")
            )
    elif element.codelist is not None:
        problems.append(
            (
                "unexpected_codelist",
                f"{where} names codelist {element.codelist!r} but is not of type code",
            )
        )
    if element.type == "list" and element.items is None:
        problems.append(("missing_items", f"{where} is of type list but has no items"))
    if element.type != "list" and element.items is not None:
        problems.append(("unexpected_items", f"{where} has items but is not of type list"))
    if element.type == "object" and not element.properties:
        problems.append(("missing_properties", f"{where} is of type object but has no properties"))
    if element.type != "object" and element.properties:
        problems.append(
            ("unexpected_properties", f"{where} has properties but is not of type object")
        )
    if element.format is not None and element.format not in KNOWN_FORMATS:
        problems.append(("unknown_format", f"{where} uses unknown format {element.format!r}"))
    return problems


def used_codelists(version: RecordVersion, elements: Mapping[str, Element]) -> tuple[str, ...]:
    found: dict[str, None] = {}
    seen: set[str] = set()

    def visit(element_id: str) -> None:
        element = elements.get(element_id)
        if element is None or element_id in seen:
            return
        seen.add(element_id)
        if element.type == "code" and element.codelist:
            found[element.codelist] = None
        for _, ref in _element_refs(element):
            visit(ref)

    for spec in version.fields:
        visit(spec.element)
    return tuple(found)


# ---------------------------------------------------------------------------------------------
# Schema building


@dataclass
class _Node:
    """Where an instance path lands: the element there, its properties and its items."""

    element: str | None
    children: dict[str, _Node] = field(default_factory=dict)
    items: _Node | None = None


class SchemaBuilder:
    def __init__(
        self,
        elements: Mapping[str, Element],
        codes: Mapping[str, CodeListVersion | None],
    ) -> None:
        self.elements = elements
        self.codes = codes

    def record_schema(self, record_type: RecordType, version: RecordVersion) -> dict[str, Any]:
        properties = {spec.name: self.field_schema(spec) for spec in version.fields}
        schema: dict[str, Any] = {
            "$schema": JSON_SCHEMA_DIALECT,
            "$id": f"urn:declare-once:record:{record_type.name}:{version.version}",
            "title": f"{record_type.name} {version.version}",
        }
        description = record_type.description_en or record_type.title_en
        if description:
            schema["description"] = description
        schema.update(
            {
                "type": "object",
                "properties": properties,
                "required": [spec.name for spec in version.fields if spec.required],
                "additionalProperties": False,
                "x-record-type": record_type.name,
                "x-version": version.version,
                "x-version-id": version.id,
            }
        )
        return schema

    def field_schema(self, spec: FieldSpec) -> dict[str, Any]:
        single = self.element_schema(spec.element, ())
        if not spec.is_list:
            return single
        schema: dict[str, Any] = {"type": "array", "items": single}
        if spec.cardinality == "1..n":
            schema["minItems"] = 1
        return schema

    def element_schema(self, element_id: str, stack: tuple[str, ...]) -> dict[str, Any]:
        if element_id in stack:
            raise CompileError([f"element {element_id} contains itself: {' -> '.join(stack)}"])
        element = self.elements[element_id]
        stack = (*stack, element_id)
        schema: dict[str, Any] = {}
        title = element.name_en or element.name_vi
        if title:
            schema["title"] = title
        if element.definition_en:
            schema["description"] = element.definition_en
        schema["x-element"] = element.id
        schema["type"] = _JSON_TYPES[element.type]
        fmt = element.format or _DEFAULT_FORMATS.get(element.type)
        if fmt:
            schema["format"] = fmt
        constraints = element.constraints
        for name, keyword in _CONSTRAINT_KEYWORDS.items():
            value = getattr(constraints, name)
            if value is not None:
                schema[keyword] = value
        if element.type == "code":
            assert element.codelist is not None
            in_force = self.codes.get(element.codelist)
            allowed = sorted(in_force.codes) if in_force is not None else []
            if constraints.enum is not None:
                allowed = [c for c in allowed if c in constraints.enum]
            schema["enum"] = allowed
            schema["x-codelist"] = element.codelist
            schema["x-codelist-version"] = in_force.version if in_force is not None else None
        elif constraints.enum is not None:
            schema["enum"] = list(constraints.enum)
        if element.type == "object":
            schema.update(self._object_schema(element.properties or {}, stack))
        elif element.type == "list":
            if isinstance(element.items, str):
                schema["items"] = self.element_schema(element.items, stack)
            elif isinstance(element.items, ObjectSpec):
                item = {"type": "object"}
                item.update(self._object_schema(element.items.properties, stack))
                schema["items"] = item
        return schema

    def _object_schema(
        self, properties: Mapping[str, PropertyRef], stack: tuple[str, ...]
    ) -> dict[str, Any]:
        return {
            "properties": {
                name: self.element_schema(prop.element, stack) for name, prop in properties.items()
            },
            "required": [name for name, prop in properties.items() if prop.required],
            "additionalProperties": False,
        }


def _path_tree(version: RecordVersion, elements: Mapping[str, Element]) -> _Node:
    def element_node(element_id: str, depth: int) -> _Node:
        element = elements[element_id]
        node = _Node(element_id)
        if depth > 32:  # a cycle; compilation refuses it, this only stops the recursion
            return node
        for name, prop in (element.properties or {}).items():
            node.children[name] = element_node(prop.element, depth + 1)
        if isinstance(element.items, str):
            node.items = element_node(element.items, depth + 1)
        elif isinstance(element.items, ObjectSpec):
            node.items = _Node(element_id)
            for name, prop in element.items.properties.items():
                node.items.children[name] = element_node(prop.element, depth + 1)
        return node

    root = _Node(None)
    for spec in version.fields:
        single = element_node(spec.element, 0)
        root.children[spec.name] = _Node(spec.element, items=single) if spec.is_list else single
    return root


_WIDE_PATTERN_TOKENS: tuple[str, ...] = (
    ".",
    "\\W",
    "\\S",
    "\\D",
    "\\w",
    "\\s",
    "\\d",
    "\\p",
    "\\P",
    "\\X",
)
_WIDE_PATTERN_TOKENS += ("\\x", "\\u", "\\U", "\\N", "[^", "(?", "|")


def _pattern_admits_only_ascii(pattern: str) -> bool:
    """Conservatively: an anchored pattern of ASCII literals and positive ASCII classes.

    Unicode-aware classes (jsonschema-rs's ``\\d`` matches any decimal digit), negations,
    flags (case folding maps K to the Kelvin sign) and alternations are all refused.
    """
    return (
        pattern.isascii()
        and pattern.startswith("^")
        and pattern.endswith("$")
        and not pattern.endswith("\\$")
        and not any(token in pattern for token in _WIDE_PATTERN_TOKENS)
    )


def _may_pass_unnormalised(
    element_id: str,
    elements: Mapping[str, Element],
    codelists: Mapping[str, CodeList],
    depth: int = 0,
) -> bool:
    """Whether a value that passed the hub's schema can still be other than NFC text.

    Values that can only be ASCII are NFC, and so are values of an NFC-only format.
    """
    element = elements[element_id]
    if depth > 32:
        return True
    if element.type in ("integer", "decimal", "boolean"):
        return False
    if element.type == "code":
        codelist = codelists.get(element.codelist or "")
        return codelist is None or not all(code.isascii() for code in codelist.all_codes)
    if element.type in ("string", "date", "datetime"):
        if element.format in ASCII_ONLY_FORMATS or element.format in NFC_ONLY_FORMATS:
            return False
        if element.format is None and element.type != "string":
            return False
        constraints = element.constraints
        if constraints.pattern is not None and _pattern_admits_only_ascii(constraints.pattern):
            return False
        enum = constraints.enum
        return not (enum is not None and all(not isinstance(v, str) or v.isascii() for v in enum))
    refs = [ref for _, ref in _element_refs(element)]
    return any(_may_pass_unnormalised(ref, elements, codelists, depth + 1) for ref in refs)


# ---------------------------------------------------------------------------------------------
# NFC


def _needs_nfc(value: object) -> bool:
    if type(value) is str:
        return not value.isascii() and not unicodedata.is_normalized("NFC", value)
    if type(value) is dict:
        return any(_needs_nfc(k) or _needs_nfc(v) for k, v in value.items())
    if type(value) is list:
        return any(_needs_nfc(v) for v in value)
    return False


def nfc_record(value: Any) -> Any:
    """A copy of ``value`` with every string (keys included) in NFC; unchanged parts shared."""
    if type(value) is str:
        if value.isascii() or unicodedata.is_normalized("NFC", value):
            return value
        return unicodedata.normalize("NFC", value)
    if type(value) is dict:
        return {nfc_record(k): nfc_record(v) for k, v in value.items()}
    if type(value) is list:
        return [nfc_record(v) for v in value]
    return value


# ---------------------------------------------------------------------------------------------
# The compiled validator


@dataclass(frozen=True)
class _Epoch:
    schema: dict[str, Any]
    validator: jsonschema_rs.Validator
    versions: tuple[CodeListVersion | None, ...]

    @property
    def is_valid(self) -> Any:
        return self.validator.is_valid


def _pointer(parts: list[str | int]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


class RecordValidator:
    """A record version compiled for validation. Build through ``Dictionary.validator``."""

    def __init__(
        self,
        record_type: RecordType,
        version: RecordVersion,
        elements: Mapping[str, Element],
        codelists: Mapping[str, CodeList],
    ) -> None:
        problems = reference_problems(version, elements, codelists)
        if problems:
            raise CompileError(
                [f"{record_type.name} {version.version}: {message}" for _, message in problems]
            )
        self.record_type = record_type.name
        self.version = version.version
        self.version_id = version.id
        self.record_version = version
        self._record_type_model = record_type
        self._elements = elements
        self._codelists = tuple(codelists[c] for c in used_codelists(version, elements))
        self.element_of: dict[str, str] = {f.name: f.element for f in version.fields}
        self.field_types: dict[str, str] = {
            f.name: "list" if f.is_list else elements[f.element].type for f in version.fields
        }
        self._tree = _path_tree(version, elements)
        self._scan_fields = tuple(
            f.name for f in version.fields if _may_pass_unnormalised(f.element, elements, codelists)
        )
        self._rules: tuple[CompiledRule, ...] = compile_rules(version.rules, self.element_of)
        self._checks = tuple(rule.check for rule in self._rules)
        self._epochs: dict[tuple[str | None, ...], _Epoch] = {}
        self._by_date: dict[date, _Epoch] = {}
        # Today's validator, held until local midnight; validate() checks the clock, not the date.
        self._today_expires = 0.0
        self._today = self._epoch_for(date.today())
        self._today_is_valid = self._today.validator.is_valid
        self._current()

    # -- epochs

    def _epoch_for(self, when: date) -> _Epoch:
        epoch = self._by_date.get(when)
        if epoch is not None:
            return epoch
        in_force = tuple(codelist.as_of(when) for codelist in self._codelists)
        key = tuple(v.version if v is not None else None for v in in_force)
        epoch = self._epochs.get(key)
        if epoch is None:
            codes = {cl.id: v for cl, v in zip(self._codelists, in_force, strict=True)}
            schema = SchemaBuilder(self._elements, codes).record_schema(
                self._record_type_model, self.record_version
            )
            try:
                compiled = jsonschema_rs.Draft202012Validator(
                    schema,
                    formats=HUB_FORMATS,
                    validate_formats=True,
                    ignore_unknown_formats=False,
                    retriever=_refuse_retrieval,
                )
            except (jsonschema_rs.ValidationError, ValueError) as exc:
                raise CompileError(
                    [f"{self.record_type} {self.version}: the schema does not compile: {exc}"]
                ) from None
            epoch = _Epoch(schema, compiled, in_force)
            self._epochs[key] = epoch
        if len(self._by_date) >= _MAX_MEMO_DATES:
            self._by_date.clear()
        self._by_date[when] = epoch
        return epoch

    def _current(self) -> _Epoch:
        if time.time() >= self._today_expires:
            today = date.today()
            self._today = self._epoch_for(today)
            self._today_is_valid = self._today.validator.is_valid
            midnight = datetime.combine(today + timedelta(days=1), clock_time())
            self._today_expires = midnight.timestamp()
        return self._today

    # -- public

    @property
    def json_schema(self) -> dict[str, Any]:
        """The JSON Schema 2020-12 of this version, with the codes in force today as enums."""
        return copy.deepcopy(self._current().schema)

    def json_schema_as_of(self, when: date) -> dict[str, Any]:
        return copy.deepcopy(self._epoch_for(when).schema)

    @property
    def rules(self) -> tuple[CompiledRule, ...]:
        return self._rules

    def normalize(self, record: Any) -> Any:
        """The record as it is validated: every string in NFC."""
        return nfc_record(record) if _needs_nfc(record) else record

    def validate(self, record: object, as_of: date | None = None) -> list[ValidationIssue]:
        """Every issue of ``record`` (empty when valid); codes are checked as of ``as_of``.

        This is the hot path, written for speed: attribute lookups hoisted, the common cases
        inline. See the module docstring for why it is sound.
        """
        if as_of is None and _now() < self._today_expires:
            is_valid = self._today_is_valid
        else:
            is_valid = (self._current() if as_of is None else self._epoch_for(as_of)).is_valid
        if type(record) is dict:
            if self._scan_fields:
                record = self._nfc_for_fast_path(record)
            if is_valid(record):
                if self._checks:
                    for check in self._checks:
                        if check(record, as_of) is not None:
                            return run_rules(self._rules, record, as_of)
                return []
        epoch = self._current() if as_of is None else self._epoch_for(as_of)
        return self._explain(epoch, record, as_of)

    def _nfc_for_fast_path(self, record: dict[str, Any]) -> dict[str, Any]:
        # Only fields that can hold non-NFC text once valid need a look here; a non-NFC
        # string anywhere else fails the schema and is normalised in _explain.
        for name in self._scan_fields:
            value = record.get(name)
            if value is None:
                continue
            if type(value) is str:
                if value.isascii() or _is_normalized("NFC", value):
                    continue
            elif not _needs_nfc(value):
                continue
            normalised: dict[str, Any] = nfc_record(record)
            return normalised
        return record

    def is_valid(self, record: object, as_of: date | None = None) -> bool:
        return not self.validate(record, as_of)

    # -- the slow path

    def _explain(self, epoch: _Epoch, record: object, as_of: date | None) -> list[ValidationIssue]:
        if _needs_nfc(record):
            record = nfc_record(record)
        if type(record) is dict and epoch.validator.is_valid(record):
            return run_rules(self._rules, record, as_of)
        issues: list[ValidationIssue] = []
        for error in epoch.validator.iter_errors(record):
            issues.extend(self._issues_of(error, epoch, as_of))
        if type(record) is dict:
            broken = {issue.path.split("/", 2)[1] for issue in issues if issue.path}
            issues.extend(run_rules(self._rules, record, as_of, broken))
        issues.sort(key=lambda issue: (issue.path, issue.code))
        return issues

    def _element_at(self, parts: list[str | int]) -> str | None:
        node: _Node | None = self._tree
        for part in parts:
            if node is None:
                return None
            node = node.items if isinstance(part, int) else node.children.get(part)
        return node.element if node is not None else None

    def _issues_of(
        self, error: jsonschema_rs.ValidationError, epoch: _Epoch, as_of: date | None
    ) -> list[ValidationIssue]:
        kind: Any = error.kind  # a per-kind class; its fields differ by kind
        kind_name = type(kind).__name__
        parts: list[str | int] = list(error.instance_path)
        if kind_name == "Required":
            child = [*parts, kind.property]
            return [
                ValidationIssue(
                    _pointer(child),
                    self._element_at(child),
                    "required",
                    f"{kind.property!r} is required.",
                )
            ]
        if kind_name == "AdditionalProperties":
            return [
                ValidationIssue(
                    _pointer([*parts, name]),
                    None,
                    "unknown_field",
                    f"{name!r} is not a field of {self.record_type} {self.version}."
                    if not parts
                    else f"{name!r} is not a property here.",
                )
                for name in kind.unexpected
            ]
        element = self._element_at(parts)
        path = _pointer(parts)
        if kind_name == "Format":
            return [ValidationIssue(path, element, f"format.{kind.format}", error.message)]
        if kind_name == "Enum":
            subschema = self._subschema(epoch.schema, list(error.schema_path)[:-1])
            codelist = subschema.get("x-codelist") if subschema else None
            if codelist:
                label = subschema.get("x-codelist-version") if subschema else None
                when = (as_of or date.today()).isoformat()
                in_force = f"version {label}" if label else "no version"
                return [
                    ValidationIssue(
                        path,
                        element,
                        "code_not_in_list",
                        f"{error.instance!r} is not a code of {codelist} "
                        f"({in_force} in force on {when}).",
                    )
                ]
            return [ValidationIssue(path, element, "enum", error.message)]
        code = _ISSUE_CODES.get(kind_name) or _snake(kind_name)
        return [ValidationIssue(path, element, code, error.message)]

    @staticmethod
    def _subschema(schema: dict[str, Any], parts: list[str | int]) -> dict[str, Any] | None:
        node: Any = schema
        for part in parts:
            try:
                node = node[part]
            except (KeyError, IndexError, TypeError):
                return None
        return node if isinstance(node, dict) else None


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")


def compile_record_version(
    record_type: RecordType,
    version: RecordVersion,
    elements: Mapping[str, Element],
    codelists: Mapping[str, CodeList],
) -> RecordValidator:
    return RecordValidator(record_type, version, elements, codelists)
