"""The envelope of a mapping: the request, the response (records, not found, pagination),
the ``sample`` listing, the source reference and the last-updated stamp."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .errors import _Problems
from .paths import Getter, _joiner, _walk, make_getter, parse_path
from .transforms import SOURCE_TIMEZONE, Step, _aware, _text, check_date_format, date_parser

PAGINATION_STYLES = frozenset({"page", "offset", "cursor"})
_MAX_PAGE_SIZE = 10_000


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
