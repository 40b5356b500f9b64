"""What the hub accepts at its edge: the URL's characters and the JSON it will parse.

Every JSON body a route reads goes through :func:`parse_json` (or :func:`check_json` for a
value parsed elsewhere), so no handler, validator or database ever sees

- a string holding a C0 control character (U+0000 to U+001F) or DEL (U+007F): a key may
  hold none of them, a value may hold tab, line feed and carriage return and no other;
- a value nested deeper than :data:`MAX_JSON_DEPTH` arrays and objects (the compiled
  validator and the NFC check would fail on it with a 500);
- malformed JSON: truncated, invalid UTF-8, or a lone surrogate (``\\ud800``).

The checks are cheap on an ordinary body: two byte searches prove there is no escape
sequence and no DEL, and a count of the opening brackets proves the depth is within the
limit; only a body that fails one of those proofs is walked, without recursion.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from app.errors import InvalidCharacters, MalformedJson, TooDeep

MAX_JSON_DEPTH = 64
"""Arrays and objects enclosing the deepest value; a body's top-level object counts as one."""

# In a string value: any C0 control but tab, line feed and carriage return, and DEL.
_CONTROL_IN_VALUE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# In a key, and in a URL's path or query once decoded: any C0 control, and DEL.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# In a raw query string: a control byte, or one percent-encoded.
_UNMARKED = bytes(b for b in range(256) if b not in b"[{\\\x7f")
_CONTROL_IN_QUERY = re.compile(rb"[\x00-\x1f\x7f]|%[01][0-9a-fA-F]|%7[fF]")


def parse_json(body: bytes) -> Any:
    """The JSON value of ``body``, refused when malformed, too deep or holding controls."""
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        line = body[: exc.pos].count(b"\n") + 1
        raise MalformedJson(
            f"The body is not valid JSON (line {line}, column {exc.colno}): {exc.msg}.",
            extra={"line": line},
        ) from None
    check_json(value, body)
    return value


def check_json(value: Any, raw: bytes | None = None) -> None:
    """Refuse ``value`` if a string holds a control character or it nests too deep.

    ``raw``, the bytes it was parsed from, lets an ordinary value skip the walk: JSON can
    carry a control character only as an escape (``\\u0000``, ``\\b``) or a raw DEL, and
    cannot nest deeper than it has opening brackets.
    """
    if raw is None:
        _walk(value, strings=True)
        return
    # One pass in C keeps the opening brackets, backslashes and DELs, nothing else.
    marks = raw.translate(None, _UNMARKED)
    strings = b"\\" in marks or b"\x7f" in marks
    if strings or len(marks) > MAX_JSON_DEPTH:
        _walk(value, strings=strings)


_CONTAINERS = frozenset({dict, list})


def _walk(value: Any, *, strings: bool) -> None:
    kind = type(value)
    if kind is str:
        if strings and _CONTROL_IN_VALUE.search(value):
            raise _control_characters()
        return
    if kind not in _CONTAINERS:
        return
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        node, depth = pending.pop()
        if depth > MAX_JSON_DEPTH:
            raise TooDeep(
                f"The body nests arrays and objects more than {MAX_JSON_DEPTH} deep.",
                extra={"max_depth": MAX_JSON_DEPTH},
            )
        children = node.values() if type(node) is dict else node
        if strings:
            _check_strings(node, children)
        # The usual record holds no container: map() and isdisjoint() see that in C.
        elif _CONTAINERS.isdisjoint(map(type, children)):
            continue
        for child in children:
            if type(child) in _CONTAINERS:
                pending.append((child, depth + 1))


def _check_strings(node: Any, children: Any) -> None:
    if type(node) is dict:
        for key in node:
            if _CONTROL.search(key):
                raise _control_characters()
    for child in children:
        if type(child) is str and _CONTROL_IN_VALUE.search(child):
            raise _control_characters()


def _control_characters() -> InvalidCharacters:
    return InvalidCharacters(
        "A JSON string holds a control character (U+0000 to U+001F or U+007F); only tab, "
        "line feed and carriage return are accepted, and only in values."
    )


def url_has_control_characters(path: str, query_string: bytes) -> bool:
    """Whether the decoded path or the raw query string holds a control character."""
    return _CONTROL.search(path) is not None or (
        bool(query_string) and _CONTROL_IN_QUERY.search(query_string) is not None
    )
