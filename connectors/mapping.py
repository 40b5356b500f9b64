"""Declarative mappings from a source system's own fields onto a dictionary record version.

A mapping is data (docs/contracts.md section 4). ``compile_mapping`` checks it once against
the dictionary, listing every problem, and turns each field into a getter plus a tuple of
small step functions, so ``CompiledMapping.apply`` on the hot path is one loop with no
parsing, no lookups by name and no per-call objects beyond the output dict.

Absent values: a source value that is missing, ``null`` or an empty string (also after a
step such as ``strip``, or a code table entry mapped to ``null``) is *absent*. An absent
field is omitted from the record, or takes the field's ``default``; it is never set to null,
because no dictionary element admits null. A required field left absent is then reported by
validation as ``required``.

A step that cannot convert a present value (a date that does not parse, a number with
letters) does not raise: the field is left out and the record carries an issue with code
``mapping.<step>``, which the connector reports with the validation issues as
``source_invalid_record``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

from dictionary import Dictionary, RecordValidator, ValidationIssue
from dictionary.errors import UnknownRecordType, UnknownVersion
from dictionary.formats import nfc
from dictionary.model import Element, ObjectSpec

# Legacy systems keep local time without an offset; the hub reads it as Vietnam time.
SOURCE_TIMEZONE = timezone(timedelta(hours=7))

Step = Callable[[Any], Any]
Getter = Callable[[Any], Any]

TOP_LEVEL_KEYS = frozenset(
    {
        "id",
        "system",
        "record_type",
        "record_version",
        "version",
        "description",
        "notes",
        "request",
        "response",
        "source_reference",
        "last_updated",
        "fields",
        "sample",
        "list",
    }
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
NAMED_TRANSFORMS = frozenset(
    {
        "strip",
        "nfc",
        "upper",
        "lower",
        "title",
        "int",
        "decimal",
        "decimal_comma",
        "string",
        "boolean",
        "iso_date",
        "iso_datetime",
        "digits",
    }
)
DICT_TRANSFORMS = frozenset({"split", "codes", "date_format", "datetime_format", "zfill", "number"})
NUMBER_STYLES = frozenset({"decimal_comma", "decimal_point", "plain"})
PAGINATION_STYLES = frozenset({"page", "offset", "cursor"})
_MAX_PAGE_SIZE = 10_000

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


class MappingError(Exception):
    """A mapping that cannot be used; ``problems`` lists every one as {path, code, message}."""

    code = "invalid_mapping"

    def __init__(self, problems: list[dict[str, str]]) -> None:
        self.problems = problems
        summary = "; ".join(f"{p['path']}: {p['message']}" for p in problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        super().__init__(f"invalid mapping: {summary}{more}")


class _StepFailed(Exception):
    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message


# ---------------------------------------------------------------------------------------------
# Paths


def parse_path(path: str) -> tuple[str | int, ...]:
    """``a.b[0].c`` or ``a.b.0.c`` -> ("a", "b", 0, "c"); numeric parts index lists."""
    parts: list[str | int] = []
    for part in path.replace("[", ".").replace("]", "").split("."):
        if part == "":
            raise ValueError(f"empty segment in path {path!r}")
        parts.append(int(part) if part.lstrip("-").isdigit() else part)
    return tuple(parts)


def _walk(value: Any, parts: tuple[str | int, ...]) -> Any:
    for part in parts:
        if type(value) is dict:
            value = value.get(part if isinstance(part, str) else str(part))
        elif type(value) is list and isinstance(part, int):
            value = value[part] if -len(value) <= part < len(value) else None
        else:
            return None
        if value is None:
            return None
    return value


def make_getter(path: str) -> Getter:
    parts = parse_path(path)
    if len(parts) == 1 and isinstance(parts[0], str):
        key = parts[0]

        def get_one(raw: Any) -> Any:
            return raw.get(key) if type(raw) is dict else None

        return get_one

    def get_nested(raw: Any) -> Any:
        return _walk(raw, parts)

    return get_nested


def get_path(value: Any, path: str | None) -> Any:
    """The value at a dotted path; the value itself for an empty path."""
    return value if not path else _walk(value, parse_path(path))


# ---------------------------------------------------------------------------------------------
# Steps (each takes a present value and returns the converted value, or None for absent)


def _text(value: Any) -> str:
    if type(value) is str:
        return value
    if isinstance(value, bool) or value is None or isinstance(value, dict | list):
        raise _StepFailed("mapping.text", f"expected text, got {type(value).__name__}")
    return str(value)


def _strip(value: Any) -> Any:
    return _text(value).strip()


def _nfc(value: Any) -> Any:
    return nfc(_text(value))


def _upper(value: Any) -> Any:
    return _text(value).upper()


def _lower(value: Any) -> Any:
    return _text(value).lower()


def _title(value: Any) -> Any:
    return " ".join(w[:1].upper() + w[1:].lower() for w in _text(value).split())


def _digits(value: Any) -> Any:
    return "".join(c for c in _text(value) if c.isdigit())


def _string(value: Any) -> Any:
    return _text(value)


def _int(value: Any) -> Any:
    if type(value) is int:
        return value
    if type(value) is float and value.is_integer():
        return int(value)
    if type(value) is str:
        text = value.strip()
        if re.fullmatch(r"[+-]?\d+", text):
            return int(text)
    raise _StepFailed("mapping.int", f"{value!r} is not an integer")


def _decimal_point(value: Any) -> Any:
    if type(value) in (int, float):
        return value
    if type(value) is str:
        text = value.strip().replace(" ", "").replace("\u00a0", "").replace("_", "")
        if re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)", text):
            number = float(text)
            return int(number) if "." not in text else number
    raise _StepFailed("mapping.number", f"{value!r} is not a number")


_THOUSANDS = re.compile(r"[+-]?\d{1,3}(\.\d{3})+")


def _decimal_comma(value: Any) -> Any:
    """``1.234,5`` -> 1234.5; a dot is a thousands separator only in groups of three."""
    if type(value) in (int, float):
        return value
    if type(value) is not str:
        raise _StepFailed("mapping.number", f"{value!r} is not a number")
    text = value.strip().replace(" ", "").replace("\u00a0", "")
    whole, comma, fraction = text.partition(",")
    if "." in whole:
        if not _THOUSANDS.fullmatch(whole):
            raise _StepFailed(
                "mapping.number", f"{value!r} is not a decimal-comma number (ambiguous dot)"
            )
        whole = whole.replace(".", "")
    if not re.fullmatch(r"[+-]?\d+", whole) or (comma and not re.fullmatch(r"\d+", fraction)):
        raise _StepFailed("mapping.number", f"{value!r} is not a decimal-comma number")
    return float(f"{whole}.{fraction}") if comma else int(whole)


_TRUE = frozenset({"1", "true", "yes", "y", "t", "co", "có"})
_FALSE = frozenset({"0", "false", "no", "n", "f", "khong", "không"})


def _boolean(value: Any) -> Any:
    if type(value) is bool:
        return value
    if type(value) is int and value in (0, 1):
        return bool(value)
    if type(value) is str:
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise _StepFailed("mapping.boolean", f"{value!r} is not a yes/no value")


def _iso_date(value: Any) -> Any:
    text = _text(value).strip()
    try:
        return date.fromisoformat(text[:10]).isoformat()
    except ValueError:
        raise _StepFailed("mapping.date_format", f"{value!r} is not an ISO date") from None


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=SOURCE_TIMEZONE)


def _iso_datetime(value: Any) -> Any:
    text = _text(value).strip()
    try:
        return _aware(datetime.fromisoformat(text)).isoformat()
    except ValueError:
        raise _StepFailed("mapping.date_format", f"{value!r} is not an ISO date-time") from None


_NAMED_STEPS: dict[str, tuple[Step, str]] = {
    "strip": (_strip, "string"),
    "nfc": (_nfc, "string"),
    "upper": (_upper, "string"),
    "lower": (_lower, "string"),
    "title": (_title, "string"),
    "digits": (_digits, "string"),
    "string": (_string, "string"),
    "int": (_int, "integer"),
    "decimal": (_decimal_point, "number"),
    "decimal_comma": (_decimal_comma, "number"),
    "boolean": (_boolean, "boolean"),
    "iso_date": (_iso_date, "date"),
    "iso_datetime": (_iso_datetime, "date"),
}


_FAST_DIRECTIVES = {
    "d": r"(?P<d>\d{1,2})",
    "m": r"(?P<m>\d{1,2})",
    "Y": r"(?P<Y>\d{4})",
    "H": r"(?P<H>\d{1,2})",
    "M": r"(?P<M>\d{1,2})",
    "S": r"(?P<S>\d{1,2})",
}


def date_parser(fmt: str) -> Callable[[str, str], datetime]:
    """A parser equivalent to ``datetime.strptime(text, fmt)``, several times faster for
    formats made only of %d %m %Y %H %M %S and literals (the usual legacy ones)."""
    pattern: list[str] = []
    seen: set[str] = set()
    index = 0
    while index < len(fmt):
        char = fmt[index]
        if char != "%":
            pattern.append(re.escape(char))
            index += 1
            continue
        directive = fmt[index + 1 : index + 2]
        if directive not in _FAST_DIRECTIVES or directive in seen:
            return datetime.strptime
        seen.add(directive)
        pattern.append(_FAST_DIRECTIVES[directive])
        index += 2
    if not {"d", "m", "Y"} <= seen:
        return datetime.strptime
    match = re.compile("".join(pattern)).fullmatch

    def parse(text: str, _fmt: str) -> datetime:
        found = match(text)
        if found is None:
            raise ValueError(f"{text!r} does not match format {fmt!r}")
        parts = found.groupdict()
        return datetime(
            int(parts["Y"]),
            int(parts["m"]),
            int(parts["d"]),
            int(parts.get("H") or 0),
            int(parts.get("M") or 0),
            int(parts.get("S") or 0),
        )

    return parse


def _date_step(fmt: str, as_datetime: bool) -> Step:
    parse = date_parser(fmt)

    def convert(value: Any) -> Any:
        try:
            moment = parse(_text(value).strip(), fmt)
        except ValueError:
            raise _StepFailed(
                "mapping.date_format", f"{value!r} does not match date format {fmt!r}"
            ) from None
        return _aware(moment).isoformat() if as_datetime else moment.date().isoformat()

    return convert


def _split_step(sep: str | None, index: int) -> Step:
    def split(value: Any) -> Any:
        parts = _text(value).split(sep)
        if -len(parts) <= index < len(parts):
            return parts[index]
        return None

    return split


def _codes_step(table: dict[str, Any]) -> Step:
    def translate(value: Any) -> Any:
        key = value if type(value) is str else _text(value)
        try:
            return table[key]
        except KeyError:
            # Passed on untranslated: validation then names it as a code not in the list.
            return value

    return translate


def _zfill_step(width: int) -> Step:
    def zfill(value: Any) -> Any:
        return _text(value).zfill(width)

    return zfill


def _integral(value: Any) -> Any:
    return int(value) if type(value) is float and value.is_integer() else value


def check_date_format(fmt: object) -> str | None:
    """Why ``fmt`` is not a usable strptime format, or None when it is."""
    if not isinstance(fmt, str) or not fmt:
        return "a date format is a non-empty strptime string such as '%d/%m/%Y'"
    if "%" not in fmt:
        return f"date format {fmt!r} has no % directive"
    sample = datetime(2001, 2, 3, 4, 5, 6)
    try:
        datetime.strptime(sample.strftime(fmt), fmt)
    except (ValueError, TypeError) as exc:
        return f"date format {fmt!r} is not valid: {exc}"
    return None


def _kind_of(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    return "any"


# ---------------------------------------------------------------------------------------------
# Compiled parts


@dataclass(frozen=True, slots=True)
class MappedRecord:
    """A source record mapped onto dictionary field names (not yet validated)."""

    data: dict[str, Any]
    source_reference: str | None
    last_updated: datetime | None
    issues: tuple[ValidationIssue, ...] = ()


@dataclass(frozen=True, slots=True)
class NotFoundSpec:
    statuses: frozenset[int]
    field: tuple[str | int, ...] | None
    equals: Any
    empty: bool

    def body_says_not_found(self, body: Any) -> bool:
        if self.field is None:
            return False
        found = _walk(body, self.field)
        return found is not None and (found == self.equals or str(found) == str(self.equals))


@dataclass(frozen=True, slots=True)
class Pagination:
    """How a source pages a list: by page number, by offset, or by an opaque cursor."""

    style: str
    size: int
    page_param: str | None = None
    size_param: str | None = None
    first_page: int = 1
    offset_param: str | None = None
    cursor_param: str | None = None
    next_at: str | None = None
    total_at: str | None = None
    # next_at and total_at parsed once at compile time, for the per-page walk.
    next_path: tuple[str | int, ...] = ()
    total_path: tuple[str | int, ...] = ()


@dataclass(frozen=True, slots=True)
class ListingSpec:
    """How to list subjects for sampling (``list_subjects``): the ``sample`` block."""

    path: str
    params: dict[str, Any]
    records_at: tuple[str | int, ...]
    subject_at: tuple[str | int, ...]
    pagination: Pagination | None


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
    per_subject: str
    path_template: str
    params: dict[str, Any]
    records_at: tuple[str | int, ...]
    not_found: NotFoundSpec
    pagination: Pagination | None
    listing: ListingSpec | None
    spec: dict[str, Any]
    targets: tuple[str, ...]
    _plans: tuple[_FieldPlan, ...] = field(repr=False, default=())
    _reference: Getter | None = field(repr=False, default=None)
    _reference_steps: tuple[Step, ...] = field(repr=False, default=())
    _updated: Getter | None = field(repr=False, default=None)
    _updated_parse: Callable[[Any], datetime] | None = field(repr=False, default=None)
    _template_head: str = field(repr=False, default="")
    _template_tail: str | None = field(repr=False, default=None)
    _subject_params: tuple[str, ...] = field(repr=False, default=())

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


# ---------------------------------------------------------------------------------------------
# Compilation


class _Problems:
    def __init__(self) -> None:
        self.items: list[dict[str, str]] = []

    def add(self, path: str, code: str, message: str) -> None:
        self.items.append({"path": path, "code": code, "message": message})


def compile_mapping(
    spec: Mapping[str, Any], dictionary: Dictionary, version: str | None = None
) -> CompiledMapping:
    """Check ``spec`` against the dictionary and compile it; raise MappingError listing
    every problem. ``version`` (or the spec's ``record_version``) picks the record version;
    the latest published one by default."""
    problems = _Problems()
    if not isinstance(spec, Mapping):
        raise MappingError([{"path": "", "code": "invalid_spec", "message": "not an object"}])
    for key in spec:
        if key not in TOP_LEVEL_KEYS and not str(key).startswith("x-"):
            problems.add(str(key), "unknown_key", f"unknown mapping key {key!r}")

    record_type_name = spec.get("record_type")
    validator: RecordValidator | None = None
    if not isinstance(record_type_name, str) or not record_type_name:
        problems.add("record_type", "missing_key", "record_type is required")
    else:
        wanted = version or spec.get("record_version")
        try:
            validator = dictionary.validator(
                record_type_name, str(wanted) if wanted is not None else None
            )
        except UnknownRecordType:
            problems.add(
                "record_type",
                "unknown_record_type",
                f"{record_type_name!r} is not a record type of the dictionary",
            )
        except UnknownVersion:
            problems.add(
                "record_version",
                "unknown_version",
                f"{record_type_name} has no version {wanted!r}",
            )

    request = _section(spec, "request", problems, required=True)
    path_template = request.get("path")
    if not isinstance(path_template, str) or not path_template.startswith("/"):
        problems.add("request.path", "missing_key", "request.path is a path starting with '/'")
        path_template = "/{subject_id}"
    method = str(request.get("method", "GET")).upper()
    if method != "GET":
        problems.add("request.method", "invalid_spec", "only GET requests are supported")
    for key in request:
        if key not in ("path", "params", "method"):
            problems.add(f"request.{key}", "unknown_key", f"unknown request key {key!r}")
    params = _params(request.get("params"), "request.params", problems)
    subject_params = tuple(k for k, v in params.items() if "{subject_id}" in str(v))
    in_path = path_template.count("{subject_id}")
    if in_path > 1 or (in_path == 0 and not subject_params):
        problems.add(
            "request.path",
            "bad_path",
            "{subject_id} must appear once in request.path, or in a request.params value",
        )

    response = _section(spec, "response", problems, required=False)
    for key in response:
        if key not in ("records_at", "not_found", "pagination"):
            problems.add(f"response.{key}", "unknown_key", f"unknown response key {key!r}")
    records_at = _path(response.get("records_at"), "response.records_at", problems)
    not_found = _not_found(response.get("not_found"), problems)
    pagination = _pagination(response.get("pagination"), "response.pagination", problems)
    listing = _listing(spec, problems)

    fields_spec = spec.get("fields")
    plans: list[_FieldPlan] = []
    if not isinstance(fields_spec, Mapping) or not fields_spec:
        problems.add("fields", "missing_key", "fields maps record fields to source fields")
        fields_spec = {}
    if validator is not None:
        compiler = _FieldCompiler(dictionary, validator, problems)
        for name, field_spec in fields_spec.items():
            plan = compiler.compile_field(str(name), field_spec)
            if plan is not None:
                plans.append(plan)
        for spec_field in validator.record_version.fields:
            if spec_field.required and spec_field.name not in fields_spec:
                problems.add(
                    f"fields.{spec_field.name}",
                    "missing_required",
                    f"required field {spec_field.name!r} of {validator.record_type} "
                    f"{validator.version} is not mapped",
                )

    reference_get, reference_steps = _reference(spec.get("source_reference"), problems)
    updated_get, updated_parse = _updated(spec.get("last_updated"), problems)

    if problems.items or validator is None:
        raise MappingError(problems.items)

    head, found, tail = path_template.partition("{subject_id}")
    record_type = dictionary.record_type(validator.record_type)
    system = str(spec.get("system") or record_type.owner_system).replace("-", "_")
    return CompiledMapping(
        id=str(spec.get("id") or f"{system}.{validator.record_type}"),
        system=system,
        record_type=validator.record_type,
        record_version=validator.version,
        validator=validator,
        per_subject=record_type.per_subject,
        path_template=path_template,
        params=params,
        records_at=records_at,
        not_found=not_found,
        pagination=pagination,
        listing=listing,
        spec=dict(spec),
        targets=tuple(p.name for p in plans),
        _plans=tuple(plans),
        _reference=reference_get,
        _reference_steps=reference_steps,
        _updated=updated_get,
        _updated_parse=updated_parse,
        _template_head=head,
        _template_tail=tail if found else None,
        _subject_params=subject_params,
    )


def _section(
    spec: Mapping[str, Any], key: str, problems: _Problems, *, required: bool
) -> Mapping[str, Any]:
    value = spec.get(key)
    if value is None:
        if required:
            problems.add(key, "missing_key", f"{key} is required")
        return {}
    if not isinstance(value, Mapping):
        problems.add(key, "invalid_spec", f"{key} must be an object")
        return {}
    return value


def _params(value: Any, where: str, problems: _Problems) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(
        isinstance(v, str | int | float | bool) for v in value.values()
    ):
        problems.add(where, "invalid_spec", f"{where} must map names to scalar values")
        return {}
    return {str(k): v for k, v in value.items()}


def _path(value: Any, where: str, problems: _Problems) -> tuple[str | int, ...]:
    if value is None or value == "":
        return ()
    if not isinstance(value, str):
        problems.add(where, "invalid_spec", f"{where} must be a dotted path")
        return ()
    try:
        return parse_path(value)
    except ValueError as exc:
        problems.add(where, "invalid_spec", str(exc))
        return ()


def _not_found(value: Any, problems: _Problems) -> NotFoundSpec:
    if value is None:
        return NotFoundSpec(frozenset({404}), None, None, True)
    if not isinstance(value, Mapping):
        problems.add("response.not_found", "invalid_spec", "not_found must be an object")
        return NotFoundSpec(frozenset({404}), None, None, True)
    for key in value:
        if key not in ("status", "field", "equals", "empty"):
            problems.add(f"response.not_found.{key}", "unknown_key", f"unknown key {key!r}")
    status = value.get("status")
    statuses: frozenset[int] = frozenset()
    if isinstance(status, int) and not isinstance(status, bool):
        statuses = frozenset({status})
    elif isinstance(status, list) and all(isinstance(s, int) for s in status):
        statuses = frozenset(status)
    elif status is not None:
        problems.add("response.not_found.status", "invalid_spec", "status is a number or list")
    field_path: tuple[str | int, ...] | None = None
    if value.get("field") is not None:
        field_path = _path(value.get("field"), "response.not_found.field", problems) or None
        if "equals" not in value:
            problems.add(
                "response.not_found.equals", "missing_key", "field needs the value it equals"
            )
    empty = value.get("empty", True)
    if not isinstance(empty, bool):
        problems.add("response.not_found.empty", "invalid_spec", "empty is true or false")
        empty = True
    return NotFoundSpec(statuses, field_path, value.get("equals"), empty)


def _pagination(value: Any, where: str, problems: _Problems) -> Pagination | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        problems.add(where, "invalid_spec", "pagination must be an object")
        return None
    style = value.get("style")
    if style not in PAGINATION_STYLES:
        problems.add(
            f"{where}.style",
            "bad_pagination",
            f"pagination style is one of {sorted(PAGINATION_STYLES)}, not {style!r}",
        )
        return None
    known = {
        "style",
        "size",
        "page_param",
        "size_param",
        "first_page",
        "offset_param",
        "cursor_param",
        "next_at",
        "total_at",
    }
    for key in value:
        if key not in known:
            problems.add(f"{where}.{key}", "unknown_key", f"unknown pagination key {key!r}")
    size = value.get("size", 50)
    if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= _MAX_PAGE_SIZE:
        problems.add(f"{where}.size", "bad_pagination", f"size is 1..{_MAX_PAGE_SIZE}")
        size = 50
    needs = {"page": "page_param", "offset": "offset_param", "cursor": "next_at"}[style]
    if not isinstance(value.get(needs), str):
        problems.add(f"{where}.{needs}", "bad_pagination", f"{style} pagination needs {needs}")
    if style == "cursor" and not isinstance(value.get("cursor_param"), str):
        problems.add(f"{where}.cursor_param", "bad_pagination", "cursor pagination needs it")
    first_page = value.get("first_page", 1)
    if not isinstance(first_page, int):
        problems.add(f"{where}.first_page", "bad_pagination", "first_page is a number")
        first_page = 1
    return Pagination(
        style=style,
        size=size,
        page_param=value.get("page_param"),
        size_param=value.get("size_param") or value.get("limit_param"),
        first_page=first_page,
        offset_param=value.get("offset_param"),
        cursor_param=value.get("cursor_param"),
        next_at=value.get("next_at"),
        total_at=value.get("total_at"),
        next_path=_path(value.get("next_at"), f"{where}.next_at", problems),
        total_path=_path(value.get("total_at"), f"{where}.total_at", problems),
    )


def _listing(spec: Mapping[str, Any], problems: _Problems) -> ListingSpec | None:
    key = "sample" if "sample" in spec else "list"
    value = spec.get(key)
    if value is None:
        return None
    if not isinstance(value, Mapping):
        problems.add(key, "invalid_spec", f"{key} must be an object")
        return None
    for name in value:
        if name not in ("path", "params", "records_at", "subject_at", "pagination"):
            problems.add(f"{key}.{name}", "unknown_key", f"unknown {key} key {name!r}")
    path = value.get("path")
    if not isinstance(path, str) or not path.startswith("/"):
        problems.add(f"{key}.path", "missing_key", f"{key}.path is a path starting with '/'")
        path = "/"
    subject_at = _path(value.get("subject_at"), f"{key}.subject_at", problems)
    return ListingSpec(
        path=path,
        params=_params(value.get("params"), f"{key}.params", problems),
        records_at=_path(value.get("records_at"), f"{key}.records_at", problems),
        subject_at=subject_at,
        pagination=_pagination(value.get("pagination"), f"{key}.pagination", problems),
    )


def _reference(value: Any, problems: _Problems) -> tuple[Getter | None, tuple[Step, ...]]:
    if value is None:
        return None, ()
    if isinstance(value, str):
        try:
            return make_getter(value), ()
        except ValueError as exc:
            problems.add("source_reference", "invalid_spec", str(exc))
            return None, ()
    if isinstance(value, Mapping) and "join" in value:
        parts = value.get("join")
        if not isinstance(parts, list) or not all(isinstance(p, str) for p in parts):
            problems.add("source_reference.join", "invalid_spec", "join lists source paths")
            return None, ()
        return _joiner(parts, str(value.get("sep", "/"))), ()
    if isinstance(value, Mapping) and isinstance(value.get("from"), str):
        return make_getter(value["from"]), ()
    problems.add("source_reference", "invalid_spec", "a dotted path, {from: path} or {join: [...]}")
    return None, ()


def _updated(
    value: Any, problems: _Problems
) -> tuple[Getter | None, Callable[[Any], datetime] | None]:
    if value is None:
        return None, None
    source: Any = value
    fmt: Any = None
    if isinstance(value, Mapping):
        source = value.get("from")
        fmt = value.get("date_format", value.get("datetime_format"))
        for key in value:
            if key not in ("from", "date_format", "datetime_format"):
                problems.add(f"last_updated.{key}", "unknown_key", f"unknown key {key!r}")
    if not isinstance(source, str):
        problems.add("last_updated.from", "missing_from", "last_updated needs a source path")
        return None, None
    if fmt is not None and fmt != "iso":
        why = check_date_format(fmt)
        if why is not None:
            problems.add("last_updated.date_format", "bad_date_format", why)
            return None, None
        pattern = str(fmt)
        parse = date_parser(pattern)

        def parse_formatted(raw: Any) -> datetime:
            return _aware(parse(_text(raw).strip(), pattern))

        return make_getter(source), parse_formatted

    def parse_iso(raw: Any) -> datetime:
        text = _text(raw).strip()
        if len(text) == 10:
            return datetime.fromisoformat(text).replace(tzinfo=SOURCE_TIMEZONE)
        return _aware(datetime.fromisoformat(text))

    return make_getter(source), parse_iso


def _joiner(paths: list[str], sep: str) -> Getter:
    getters = tuple(make_getter(p) for p in paths)

    def join(raw: Any) -> Any:
        parts = []
        for get in getters:
            value = get(raw)
            if value is None:
                continue
            text = value.strip() if type(value) is str else str(value)
            if text:
                parts.append(text)
        return sep.join(parts) if parts else None

    return join


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
