"""A compiled mapping at run time: ``CompiledMapping.apply`` turns a source record into a
``MappedRecord``, one loop over field plans with no parsing and no lookups by name."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

from dictionary import RecordValidator, ValidationIssue

from .envelope import ListingSpec, NotFoundSpec, Pagination
from .errors import _StepFailed
from .feed import CompiledFeed
from .paths import Getter
from .transforms import Step
from .write import (
    CompiledCorrection,
    CompiledWrite,
    Encoder,
    NotEncodable,
    read_encoder,
    read_source_field,
)


@dataclass(frozen=True, slots=True)
class MappedRecord:
    """A source record mapped onto dictionary field names (not yet validated)."""

    data: dict[str, Any]
    source_reference: str | None
    last_updated: datetime | None
    issues: tuple[ValidationIssue, ...] = ()


@dataclass(frozen=True, slots=True)
class _FieldPlan:
    name: str
    get: Getter
    steps: tuple[Step, ...]
    has_default: bool
    default: Any


@dataclass
class CompiledMapping:
    """A mapping checked against the dictionary and compiled for ``apply``."""

    id: str
    system: str
    record_type: str
    record_version: str
    validator: RecordValidator
    params: dict[str, Any]
    records_at: tuple[str | int, ...]
    not_found: NotFoundSpec
    pagination: Pagination | None
    listing: ListingSpec | None
    _plans: tuple[_FieldPlan, ...] = field(repr=False, default=())
    _reference: Getter | None = field(repr=False, default=None)
    _reference_steps: tuple[Step, ...] = field(repr=False, default=())
    _updated: Getter | None = field(repr=False, default=None)
    _updated_parse: Callable[[Any], datetime] | None = field(repr=False, default=None)
    _template_head: str = field(repr=False, default="")
    _template_tail: str | None = field(repr=False, default=None)
    _subject_params: tuple[str, ...] = field(repr=False, default=())
    writes: tuple[CompiledWrite, ...] = ()
    correction: CompiledCorrection | None = None
    changes: CompiledFeed | None = None
    _field_specs: dict[str, Any] = field(repr=False, default_factory=dict)

    def write_for(self, record_type: str) -> CompiledWrite | None:
        return next((w for w in self.writes if w.record_type == record_type), None)

    def source_field(self, name: str) -> tuple[str, Encoder]:
        """Where the source keeps record field ``name`` and how a value of it is written in
        the source's format; NotEncodable when the mapping cannot say."""
        spec = self._field_specs.get(name)
        path = read_source_field(spec)
        if path is None:
            raise NotEncodable(f"{name} is not read from one source field")
        return path, read_encoder(spec)

    def decode_field(self, name: str, raw_value: Any) -> Any:
        """A value in the source's format, read as the mapping reads record field ``name``."""
        path, _encode = self.source_field(name)
        raw: dict[str, Any] = {}
        node = raw
        parts = path.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = raw_value
        return self.apply(raw).data.get(name)

    def request_path(self, subject_id: str) -> str:
        """The request path for a subject, the subject URL-quoted (no slash passes through)."""
        if self._template_tail is None:
            return self._template_head
        return self._template_head + quote(subject_id, safe="") + self._template_tail

    def request_params(self, subject_id: str) -> dict[str, Any] | None:
        """The query parameters for a subject (``{subject_id}`` may sit in a value)."""
        if not self._subject_params:
            return self.params or None
        params = dict(self.params)
        for name in self._subject_params:
            params[name] = str(params[name]).replace("{subject_id}", subject_id)
        return params

    def apply(self, raw: Any) -> MappedRecord:
        data: dict[str, Any] = {}
        issues: list[ValidationIssue] | None = None
        for plan in self._plans:
            try:
                value = _run_plan(plan, raw)
            except _StepFailed as failed:
                if issues is None:
                    issues = []
                element = self.validator.element_of.get(plan.name)
                issues.append(
                    ValidationIssue("/" + plan.name, element, failed.code, failed.message)
                )
                continue
            if value is not None:
                data[plan.name] = value
        return MappedRecord(
            data,
            self._source_reference(raw),
            self._last_updated(raw),
            tuple(issues) if issues else (),
        )

    def issues_of(self, mapped: MappedRecord) -> list[ValidationIssue]:
        """Mapping and validation issues of a mapped record; empty when it is valid."""
        issues = self.validator.validate(mapped.data)
        if not mapped.issues:
            return issues
        failed = {issue.path for issue in mapped.issues}
        # A field a step could not convert is also absent; its "required" would say it twice.
        return [*mapped.issues, *(i for i in issues if i.path not in failed)]

    def _source_reference(self, raw: Any) -> str | None:
        if self._reference is None:
            return None
        value = self._reference(raw)
        try:
            for step in self._reference_steps:
                if value is None:
                    break
                value = step(value)
        except _StepFailed:
            return None
        return None if value is None or value == "" else str(value)

    def _last_updated(self, raw: Any) -> datetime | None:
        if self._updated is None or self._updated_parse is None:
            return None
        value = self._updated(raw)
        if value is None or value == "":
            return None
        try:
            return self._updated_parse(value)
        except (ValueError, TypeError, _StepFailed):
            return None


def _identity(raw: Any) -> Any:
    return raw


def _absent(raw: Any) -> Any:
    return None


def _constant(value: Any) -> Getter:
    def get(raw: Any) -> Any:
        return value

    return get


def _run_plan(plan: _FieldPlan, raw: Any) -> Any:
    """One field's value from ``raw``: its steps run, else its default; None when absent.
    A step that cannot convert the value raises _StepFailed."""
    value = plan.get(raw)
    if value is not None and value != "":
        for step in plan.steps:
            value = step(value)
            if value is None:
                break
    if (value is None or value == "") and plan.has_default:
        return plan.default
    return None if value == "" else value


def _each_object(plans: tuple[_FieldPlan, ...], name: str) -> Step:
    def each(value: Any) -> Any:
        if type(value) is not list:
            raise _StepFailed(
                "mapping.items", f"{name}: expected a list, got {type(value).__name__}"
            )
        out = []
        for item in value:
            mapped = {}
            for plan in plans:
                converted = _run_plan(plan, item)
                if converted is not None:
                    mapped[plan.name] = converted
            out.append(mapped)
        return out

    return each


def _each_value(plan: _FieldPlan, name: str) -> Step:
    def each(value: Any) -> Any:
        if type(value) is not list:
            raise _StepFailed(
                "mapping.items", f"{name}: expected a list, got {type(value).__name__}"
            )
        out = []
        for item in value:
            converted = _run_plan(plan, item)
            if converted is not None:
                out.append(converted)
        return out

    return each
