"""The write direction of a mapping: a dictionary record the hub delivers, turned into the
owning system's own request (``writes``), and a dispute of one field sent as the system's
correction request (``correction``). Data, like the read direction (docs/contracts.md §4).

A write's ``body`` maps the source's fields (dotted paths, built as nested objects) from
the delivery document: ``record.<field>`` (the result record), ``replaces.<field>`` (the
record it takes the place of, when the procedure names one), ``delivery.key`` (the
idempotency key). A correction's body reads ``correction.<name>`` (see ``CORRECTION_NAMES``).
Values are encoded into the source's format with ``date_format``, ``number``, ``codes`` or
``const``; a value the document does not hold is left out of the body.

The answer: a 2xx is accepted; ``returns`` reads back what the owner assigned (a new
certificate number, a child's citizen ID) onto record fields; ``reason_at`` says where a
refusal's reason is. A correction's answer says the owner's decision (``decision_at``,
``accepted``/``rejected`` values), the new value (``value_at``, decoded with the read
mapping's own field spec) and the reason.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import quote

from dictionary import Dictionary, RecordValidator
from dictionary.errors import UnknownRecordType

from .errors import _Problems
from .paths import Getter, get_path, make_getter, parse_path
from .transforms import check_date_format

WRITE_KEYS = frozenset(
    {"record_type", "method", "path", "idempotency", "dry_run", "after", "body", "answer"}
)
CORRECTION_KEYS = frozenset({"method", "path", "idempotency", "dry_run", "body", "answer"})
BODY_FIELD_KEYS = frozenset({"from", "date_format", "number", "codes", "const"})
METHODS = frozenset({"POST", "PUT", "PATCH"})
# What a correction request may send: the record's reference at the source, the subject,
# the disputed field as the source names it, its current and claimed values in the source's
# format, the citizen's note.
CORRECTION_NAMES = frozenset(
    {"source_reference", "subject_id", "source_field", "current", "claimed", "note"}
)
SYSTEMS = frozenset({"population", "civil_status", "land", "tax"})

Encoder = Callable[[Any], Any]


class NotEncodable(ValueError):
    """A value the source's format cannot carry (the field's read spec has no inverse)."""


@dataclass(frozen=True, slots=True)
class _BodyField:
    target: tuple[str | int, ...]
    get: Getter
    encode: Encoder


@dataclass(frozen=True, slots=True)
class Idempotency:
    header: str | None = None
    body_field: str | None = None


@dataclass(frozen=True, slots=True)
class SourceRequest:
    """One request to the owning system, ready to send."""

    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class _RequestPlan:
    method: str
    path_parts: tuple[tuple[str, Getter | None], ...]  # literal text, or a placeholder
    idempotency: Idempotency
    dry_run_param: str | None
    body: tuple[_BodyField, ...]
    reason_at: tuple[str, ...]

    def build(self, document: Mapping[str, Any], key: str, *, dry_run: bool) -> SourceRequest:
        path = ""
        for text, get in self.path_parts:
            if get is None:
                path += text
                continue
            value = get(document)
            if value is None or value == "":
                raise NotEncodable(f"the path needs {text}, which the delivery does not hold")
            path += _quote(str(value))
        body: dict[str, Any] = {}
        for plan in self.body:
            value = plan.get(document)
            if value is None:
                continue
            _put(body, plan.target, plan.encode(value))
        headers: dict[str, str] = {}
        if self.idempotency.header:
            headers[self.idempotency.header] = key
        if self.idempotency.body_field:
            body[self.idempotency.body_field] = key
        params = {self.dry_run_param: "true"} if dry_run and self.dry_run_param else {}
        return SourceRequest(self.method, path, params, headers, body)

    def reason(self, answer: Any) -> str | None:
        for path in self.reason_at:
            value = get_path(answer, path)
            if isinstance(value, str) and value.strip():
                return value.strip()[:500]
        return None


@dataclass(frozen=True, slots=True)
class CompiledWrite:
    """How one owning system takes one record type."""

    record_type: str
    after: str | None  # the system whose delivery of the same record must land first
    request: _RequestPlan
    returns: tuple[tuple[str, Getter], ...] = field(default=())
    # A valid record of the type, from the dictionary's examples: what the probe's dry run
    # sends (as the record and as the one it replaces).
    example: dict[str, Any] | None = None

    def returned(self, answer: Any) -> dict[str, Any]:
        """The values the owner assigned, by record field; NotEncodable when one the mapping
        declares is missing (the owner's format changed: the hub would keep a stale value)."""
        values: dict[str, Any] = {}
        for name, get in self.returns:
            value = get(answer)
            if value is None or value == "":
                raise NotEncodable(f"the answer does not hold {name}")
            values[name] = value
        return values


@dataclass(frozen=True, slots=True)
class CorrectionAnswer:
    accepted: bool
    value: Any  # the owner's value, raw (decode with the read mapping)
    reason: str | None


@dataclass(frozen=True, slots=True)
class CompiledCorrection:
    request: _RequestPlan
    decision_at: Getter
    accepted_value: str
    rejected_value: str
    value_at: Getter | None

    def answer(self, body: Any) -> CorrectionAnswer | None:
        """The owner's decision, or None when the answer says neither."""
        decision = self.decision_at(body)
        if decision == self.accepted_value:
            value = self.value_at(body) if self.value_at is not None else None
            return CorrectionAnswer(True, value, None)
        if decision == self.rejected_value:
            return CorrectionAnswer(False, None, self.request.reason(body))
        return None


def _quote(text: str) -> str:
    return quote(text, safe="")


def _put(body: dict[str, Any], target: tuple[str | int, ...], value: Any) -> None:
    node = body
    for part in target[:-1]:
        node = node.setdefault(str(part), {})
    node[str(target[-1])] = value


# -- encoders: a dictionary value in the source's format ------------------------------------


def _date_encoder(fmt: str) -> Encoder:
    def encode(value: Any) -> Any:
        try:
            return date.fromisoformat(str(value)[:10]).strftime(fmt)
        except ValueError:
            raise NotEncodable(f"{value!r} is not a date") from None

    return encode


def _decimal_comma(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise NotEncodable(f"{value!r} is not a number")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).replace(".", ",")


def _whole(value: Any) -> Any:
    """A whole amount (dong): 1500000.0 -> 1500000; a fraction cannot be carried."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise NotEncodable(f"{value!r} is not a number")
    if isinstance(value, float) and not value.is_integer():
        raise NotEncodable(f"{value!r} is not a whole amount")
    return int(value)


def _identity(value: Any) -> Any:
    return value


def _codes_encoder(table: Mapping[str, Any]) -> Encoder:
    def encode(value: Any) -> Any:
        if str(value) not in table:
            raise NotEncodable(f"{value!r} has no code at the source")
        return table[str(value)]

    return encode


_NUMBER_ENCODERS: dict[str, Encoder] = {
    "decimal_comma": _decimal_comma,
    "decimal_point": _identity,
    "whole": _whole,
}


def read_encoder(spec: Any) -> Encoder:
    """The inverse of a read field spec: a dictionary value in the source's own format.
    Raises NotEncodable for a spec with no inverse (joins, splits, lists)."""
    if isinstance(spec, str):
        return _identity
    if not isinstance(spec, Mapping) or not isinstance(spec.get("from"), str):
        raise NotEncodable("the field is not read from one source field")
    if any(k in spec for k in ("join", "split", "items", "each", "const")):
        raise NotEncodable("the field's read spec has no inverse")
    if "date_format" in spec or "datetime_format" in spec:
        return _date_encoder(str(spec.get("date_format") or spec.get("datetime_format")))
    if "number" in spec:
        return _NUMBER_ENCODERS.get(str(spec["number"]), _identity)
    if isinstance(spec.get("codes"), Mapping):
        inverse: dict[str, Any] = {}
        for source_code, code in spec["codes"].items():
            if code is not None:
                inverse.setdefault(str(code), source_code)
        return _codes_encoder(inverse)
    return _identity


def read_source_field(spec: Any) -> str | None:
    """The source path a read field spec takes its value from (None when not one field)."""
    if isinstance(spec, str):
        return spec
    if isinstance(spec, Mapping) and isinstance(spec.get("from"), str):
        return str(spec["from"])
    return None


# -- compiling ------------------------------------------------------------------------------


class _WriteCompiler:
    def __init__(self, dictionary: Dictionary, problems: _Problems) -> None:
        self.dictionary = dictionary
        self.problems = problems

    def writes(self, specs: Any, default_record_type: str) -> tuple[CompiledWrite, ...]:
        if specs is None:
            return ()
        if not isinstance(specs, list):
            self.problems.add("writes", "invalid_spec", "writes is a list of write requests")
            return ()
        compiled = []
        seen: set[str] = set()
        for index, spec in enumerate(specs):
            write = self.write(spec, f"writes.{index}", default_record_type)
            if write is None:
                continue
            if write.record_type in seen:
                self.problems.add(
                    f"writes.{index}.record_type",
                    "duplicate_record_type",
                    f"{write.record_type} is written twice",
                )
            seen.add(write.record_type)
            compiled.append(write)
        return tuple(compiled)

    def write(self, spec: Any, where: str, default_record_type: str) -> CompiledWrite | None:
        if not isinstance(spec, Mapping):
            self.problems.add(where, "invalid_spec", "a write is an object")
            return None
        self._unknown_keys(spec, WRITE_KEYS, where)
        name = str(spec.get("record_type") or default_record_type)
        try:
            validator = self.dictionary.validator(name)
        except UnknownRecordType:
            self.problems.add(
                f"{where}.record_type", "unknown_record_type", f"{name!r} is not a record type"
            )
            return None
        after = spec.get("after")
        if after is not None and after not in SYSTEMS:
            self.problems.add(
                f"{where}.after", "invalid_spec", f"after names a system: {', '.join(SYSTEMS)}"
            )
        names = _record_names(validator)
        request = self.request(spec, where, names)
        answer = spec.get("answer") or {}
        returns: list[tuple[str, Getter]] = []
        if not isinstance(answer, Mapping):
            self.problems.add(f"{where}.answer", "invalid_spec", "answer is an object")
            answer = {}
        self._unknown_keys(answer, frozenset({"reason_at", "returns"}), f"{where}.answer")
        given = answer.get("returns") or {}
        if not isinstance(given, Mapping):
            self.problems.add(f"{where}.answer.returns", "invalid_spec", "returns is an object")
            given = {}
        for field_name, path in given.items():
            if f"record.{field_name}" not in names:
                self.problems.add(
                    f"{where}.answer.returns.{field_name}",
                    "unknown_element",
                    f"{field_name!r} is not a field of {validator.record_type}",
                )
                continue
            getter = self._getter(path, f"{where}.answer.returns.{field_name}")
            if getter is not None:
                returns.append((str(field_name), getter))
        if request is None:
            return None
        examples = validator.record_version.examples.valid
        return CompiledWrite(
            record_type=validator.record_type,
            after=str(after) if after else None,
            request=request,
            returns=tuple(returns),
            example=dict(examples[0]) if examples else None,
        )

    def correction(self, spec: Any) -> CompiledCorrection | None:
        if spec is None:
            return None
        where = "correction"
        if not isinstance(spec, Mapping):
            self.problems.add(where, "invalid_spec", "correction is an object")
            return None
        self._unknown_keys(spec, CORRECTION_KEYS, where)
        names = frozenset(f"correction.{n}" for n in CORRECTION_NAMES) | {"delivery.key"}
        request = self.request(spec, where, names)
        answer = spec.get("answer")
        if not isinstance(answer, Mapping):
            self.problems.add(
                f"{where}.answer", "missing_key", "answer says where the owner's decision is"
            )
            return None
        self._unknown_keys(
            answer,
            frozenset({"decision_at", "accepted", "rejected", "value_at", "reason_at"}),
            f"{where}.answer",
        )
        decision = self._getter(answer.get("decision_at"), f"{where}.answer.decision_at")
        value_at = (
            self._getter(answer["value_at"], f"{where}.answer.value_at")
            if answer.get("value_at")
            else None
        )
        accepted, rejected = answer.get("accepted"), answer.get("rejected")
        if not isinstance(accepted, str) or not isinstance(rejected, str) or accepted == rejected:
            self.problems.add(
                f"{where}.answer",
                "invalid_spec",
                "accepted and rejected are the two decision values the owner answers with",
            )
            return None
        if request is None or decision is None:
            return None
        return CompiledCorrection(request, decision, accepted, rejected, value_at)

    def request(
        self, spec: Mapping[str, Any], where: str, names: frozenset[str]
    ) -> _RequestPlan | None:
        before = len(self.problems.items)
        method = str(spec.get("method", "POST")).upper()
        if method not in METHODS:
            self.problems.add(f"{where}.method", "invalid_spec", "a write is POST, PUT or PATCH")
        path = spec.get("path")
        parts: list[tuple[str, Getter | None]] = []
        if not isinstance(path, str) or not path.startswith("/"):
            self.problems.add(f"{where}.path", "missing_key", "path starts with '/'")
        else:
            parts = self._path_parts(path, f"{where}.path", names)
        idempotency = self._idempotency(spec.get("idempotency"), f"{where}.idempotency")
        dry_run = spec.get("dry_run")
        dry_run_param: str | None = None
        if dry_run is not None:
            if not isinstance(dry_run, Mapping) or not isinstance(dry_run.get("param"), str):
                self.problems.add(f"{where}.dry_run", "invalid_spec", "dry_run is {param: name}")
            else:
                dry_run_param = str(dry_run["param"])
        body = spec.get("body")
        fields: list[_BodyField] = []
        if not isinstance(body, Mapping) or not body:
            self.problems.add(f"{where}.body", "missing_key", "body maps source fields")
        else:
            for target, field_spec in body.items():
                compiled = self._body_field(
                    str(target), field_spec, f"{where}.body.{target}", names
                )
                if compiled is not None:
                    fields.append(compiled)
        answer = spec.get("answer") or {}
        reason_at = answer.get("reason_at", []) if isinstance(answer, Mapping) else []
        if isinstance(reason_at, str):
            reason_at = [reason_at]
        if not isinstance(reason_at, list) or not all(isinstance(p, str) for p in reason_at):
            self.problems.add(f"{where}.answer.reason_at", "invalid_spec", "a path or a list")
            reason_at = []
        if len(self.problems.items) > before or idempotency is None:
            return None
        return _RequestPlan(
            method, tuple(parts), idempotency, dry_run_param, tuple(fields), tuple(reason_at)
        )

    def _path_parts(
        self, path: str, where: str, names: frozenset[str]
    ) -> list[tuple[str, Getter | None]]:
        parts: list[tuple[str, Getter | None]] = []
        rest = path
        while "{" in rest:
            head, _, tail = rest.partition("{")
            name, closed, rest = tail.partition("}")
            if not closed:
                self.problems.add(where, "bad_path", "an unclosed '{' in the path")
                return []
            if head:
                parts.append((head, None))
            if name not in names:
                self.problems.add(where, "unknown_element", f"{{{name}}} is not a known value")
                continue
            parts.append((name, make_getter(name)))
        if rest:
            parts.append((rest, None))
        return parts

    def _idempotency(self, spec: Any, where: str) -> Idempotency | None:
        if not isinstance(spec, Mapping) or len(spec) != 1:
            self.problems.add(
                where, "missing_key", "idempotency is {header: name} or {body: field}"
            )
            return None
        if isinstance(spec.get("header"), str):
            return Idempotency(header=str(spec["header"]))
        if isinstance(spec.get("body"), str):
            return Idempotency(body_field=str(spec["body"]))
        self.problems.add(where, "invalid_spec", "idempotency is {header: name} or {body: field}")
        return None

    def _body_field(
        self, target: str, spec: Any, where: str, names: frozenset[str]
    ) -> _BodyField | None:
        try:
            target_parts = parse_path(target)
        except ValueError as exc:
            self.problems.add(where, "bad_path", str(exc))
            return None
        if isinstance(spec, str):
            spec = {"from": spec}
        if not isinstance(spec, Mapping):
            self.problems.add(where, "invalid_spec", "a body field is a path or an object")
            return None
        self._unknown_keys(spec, BODY_FIELD_KEYS, where)
        if "const" in spec:
            constant = spec["const"]
            return _BodyField(target_parts, lambda _doc: constant, _identity)
        source = spec.get("from")
        if not isinstance(source, str) or source not in names:
            self.problems.add(
                where, "unknown_element", f"{source!r} is not a value of the delivery"
            )
            return None
        encode: Encoder = _identity
        if "date_format" in spec:
            problem = check_date_format(spec["date_format"])
            if problem:
                self.problems.add(f"{where}.date_format", "invalid_spec", problem)
                return None
            encode = _date_encoder(str(spec["date_format"]))
        elif "number" in spec:
            if spec["number"] not in _NUMBER_ENCODERS:
                self.problems.add(
                    f"{where}.number",
                    "invalid_spec",
                    "number is decimal_comma, decimal_point or whole",
                )
                return None
            encode = _NUMBER_ENCODERS[str(spec["number"])]
        elif "codes" in spec:
            if not isinstance(spec["codes"], Mapping):
                self.problems.add(f"{where}.codes", "invalid_spec", "codes is an object")
                return None
            encode = _codes_encoder({str(k): v for k, v in spec["codes"].items()})
        return _BodyField(target_parts, make_getter(source), encode)

    def _getter(self, path: Any, where: str) -> Getter | None:
        if not isinstance(path, str) or not path:
            self.problems.add(where, "invalid_spec", "a path into the answer")
            return None
        try:
            parse_path(path)
        except ValueError as exc:
            self.problems.add(where, "bad_path", str(exc))
            return None
        return make_getter(path)

    def _unknown_keys(self, spec: Mapping[str, Any], known: frozenset[str], where: str) -> None:
        for key in spec:
            if key not in known and not str(key).startswith("x-"):
                self.problems.add(f"{where}.{key}", "unknown_key", f"unknown key {key!r}")


def _record_names(validator: RecordValidator) -> frozenset[str]:
    fields = [f.name for f in validator.record_version.fields]
    return frozenset(
        [f"record.{f}" for f in fields] + [f"replaces.{f}" for f in fields] + ["delivery.key"]
    )


def compile_writes(
    spec: Mapping[str, Any], dictionary: Dictionary, default_record_type: str, problems: _Problems
) -> tuple[tuple[CompiledWrite, ...], CompiledCorrection | None]:
    compiler = _WriteCompiler(dictionary, problems)
    return (
        compiler.writes(spec.get("writes"), default_record_type),
        compiler.correction(spec.get("correction")),
    )
