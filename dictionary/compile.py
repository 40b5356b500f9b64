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
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from typing import Any

import jsonschema_rs

from dictionary.errors import CompileError
from dictionary.formats import HUB_FORMATS
from dictionary.model import (
    CodeList,
    CodeListVersion,
    Element,
    RecordType,
    RecordVersion,
    ValidationIssue,
)
from dictionary.nfc import _needs_nfc, nfc_record
from dictionary.references import Problem, element_problems, reference_problems, used_codelists
from dictionary.rules import CompiledRule, compile_rules, run_rules
from dictionary.schema import (
    JSON_SCHEMA_DIALECT,
    SchemaBuilder,
    _may_pass_unnormalised,
    _Node,
    _path_tree,
)

__all__ = [
    "JSON_SCHEMA_DIALECT",
    "Problem",
    "RecordValidator",
    "SchemaBuilder",
    "element_problems",
    "nfc_record",
    "reference_problems",
    "used_codelists",
]

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
