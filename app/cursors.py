"""The one cursor codec of the API: signed, opaque page positions.

A cursor is ``<payload>.<tag>``, both base64url without padding: the payload is the JSON of
the position (small non-negative integers, e.g. ``{"s": 1234}``) and the tag is
HMAC-SHA256 over the query's *scope* and the payload, with a key of the hub's own. The scope
names the query the cursor continues (the route, its filters and order, the caller where a
cursor must be useless to anyone else), so a cursor does not verify for any other query.
Anything that does not verify, or whose position is out of range, is ``400 invalid_cursor``:
a client can only hand back cursors this hub issued, never forge a position.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping

import orjson

from app.errors import InvalidCursor

__all__ = ["MAX_POSITION", "CursorCodec", "InvalidCursor"]

# The largest value a position may hold: the range of a signed 64-bit database id.
MAX_POSITION = 2**63 - 1
_VERSION = 2
_TAG_BYTES = 16
_MAX_CURSOR_CHARS = 512


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class CursorCodec:
    """Signs positions into cursors and verifies cursors back into positions."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("a cursor key needs at least 16 bytes")
        self._key = key

    @classmethod
    def derived_from(cls, secret: bytes) -> CursorCodec:
        """A codec whose key is derived from another hub secret (one purpose, one key):
        every instance sharing that secret accepts the others' cursors."""
        return cls(hmac.new(secret, b"declare-once cursor key v2", hashlib.sha256).digest())

    def _tag(self, scope: str, payload: str) -> bytes:
        message = scope.encode() + b"\n" + payload.encode()
        return hmac.new(self._key, message, hashlib.sha256).digest()[:_TAG_BYTES]

    def encode(self, scope: str, position: Mapping[str, int]) -> str:
        payload = _b64encode(orjson.dumps({"v": _VERSION, **position}))
        return f"{payload}.{_b64encode(self._tag(scope, payload))}"

    def decode(self, scope: str, cursor: str, names: tuple[str, ...]) -> dict[str, int]:
        """The position a cursor holds, checked: it verifies for ``scope`` and holds exactly
        ``names``, each an integer from 0 to :data:`MAX_POSITION`."""
        refused = InvalidCursor(
            "The cursor is not one this API issued for this query; repeat the query that "
            "issued it, with the same filters and order, and follow its `next_cursor`."
        )
        payload, dot, tag = cursor.partition(".")
        if not dot or len(cursor) > _MAX_CURSOR_CHARS or not cursor.isascii():
            raise refused
        try:
            expected = self._tag(scope, payload)
            if not hmac.compare_digest(_b64decode(tag), expected):
                raise refused
            body = orjson.loads(_b64decode(payload))
        except (ValueError, binascii.Error, orjson.JSONDecodeError):
            raise refused from None
        if not isinstance(body, dict) or body.get("v") != _VERSION or set(body) != {"v", *names}:
            raise refused
        position: dict[str, int] = {}
        for name in names:
            value = body[name]
            if type(value) is not int or not 0 <= value <= MAX_POSITION:
                raise refused
            position[name] = value
        return position
