"""Paths into a source's JSON: ``a.b[0].c`` parsed once into a getter."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Getter = Callable[[Any], Any]


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
