"""``compile_mapping``: a mapping spec checked once against the dictionary, every problem
listed, and compiled into a ``CompiledMapping``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dictionary import Dictionary, RecordValidator
from dictionary.errors import UnknownRecordType, UnknownVersion

from .apply import CompiledMapping, _FieldPlan
from .envelope import (
    _listing,
    _not_found,
    _pagination,
    _params,
    _path,
    _reference,
    _section,
    _updated,
)
from .errors import MappingError, _Problems
from .feed import compile_feed
from .fields import _FieldCompiler
from .write import compile_writes

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
        "writes",
        "correction",
        "changes",
    }
)


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

    writes, correction = compile_writes(
        spec, dictionary, validator.record_type if validator else "", problems
    )
    changes = compile_feed(spec.get("changes"), fields_spec, problems)
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
        params=params,
        records_at=records_at,
        not_found=not_found,
        pagination=pagination,
        listing=listing,
        _plans=tuple(plans),
        _reference=reference_get,
        _reference_steps=reference_steps,
        _updated=updated_get,
        _updated_parse=updated_parse,
        _template_head=head,
        _template_tail=tail if found else None,
        _subject_params=subject_params,
        writes=writes,
        correction=correction,
        changes=changes,
        _field_specs={str(k): v for k, v in fields_spec.items()},
    )
