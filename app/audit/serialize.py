"""The access log's exact bytes: canonical events, seal bodies and the JSONL export lines.

Everything a verifier hashes is defined here, once, and docs/audit.md describes the same
rules in prose so that a third party can reimplement them. The export (``/v1/audit/export``
and ``declare-once audit export``) writes these lines, and ``declare-once audit verify --file``
reads them back.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from hashlib import sha256
from typing import Any

import orjson

FORMAT = "declare-once-audit/1"
GENESIS_HASH = "0" * 64

# The stored columns of an event, in the order the table declares them. The canonical
# serialisation is the JSON object of exactly these keys (sorted), so the tuple's order is
# only for readability.
EVENT_COLUMNS: tuple[str, ...] = (
    "seq",
    "ts",
    "kind",
    "client_id",
    "agency",
    "officer_id",
    "case_id",
    "subject_hmac",
    "subject_hint",
    "record_type",
    "fields",
    "purpose",
    "procedure",
    "filing_id",
    "basis",
    "outcome",
    "error_code",
    "request_id",
    "request_hash",
    "response_hash",
    "details",
)

SEAL_BODY_KEYS: tuple[str, ...] = (
    "v",
    "seal_index",
    "leaf_start",
    "leaf_count",
    "root",
    "prev_hash",
    "sealed_at",
    "key_id",
)

_SORTED = orjson.OPT_SORT_KEYS


def canonical_json(value: Any) -> bytes:
    """UTF-8 JSON, keys sorted at every level, no insignificant whitespace."""
    return orjson.dumps(value, option=_SORTED)


def request_hash(payload: Any) -> str:
    """SHA-256 (hex) of a request: raw bytes as sent, or a JSON value in canonical form."""
    data = payload if isinstance(payload, bytes | bytearray) else canonical_json(payload)
    return sha256(data).hexdigest()


def response_hash(payload: Any) -> str:
    """SHA-256 (hex) of a returned record: raw bytes, or a JSON value in canonical form."""
    return request_hash(payload)


def format_ts(value: datetime | str) -> str:
    """``YYYY-MM-DDTHH:MM:SS.ffffffZ`` in UTC. SQLite hands back naive UTC datetimes."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat("T", "microseconds") + "Z"


def event_record(row: Mapping[Any, Any]) -> dict[str, Any]:
    """The event's stored columns as JSON values (the object that is hashed)."""
    record = {name: row[name] for name in EVENT_COLUMNS}
    record["ts"] = format_ts(record["ts"])
    record["fields"] = list(record["fields"] or [])
    record["details"] = dict(record["details"] or {})
    return record


# Timestamps read as text, for the verifier's fast path: SQLite's stored form (naive UTC, as
# SQLAlchemy writes it) and the canonical form itself (what PostgreSQL's
# to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') gives).
_STORED_TS = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}")
_CANONICAL_TS = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z")
_TS_AT = EVENT_COLUMNS.index("ts")
_FIELDS_AT = EVENT_COLUMNS.index("fields")
_DETAILS_AT = EVENT_COLUMNS.index("details")


def canonical_ts_text(value: Any) -> str | None:
    """``format_ts`` of a timestamp read as text, without building a datetime: the SQLite
    stored form ``YYYY-MM-DD HH:MM:SS.ffffff`` (naive UTC) or the canonical form. None for
    anything else, and the caller then reads the typed value and uses ``format_ts``."""
    if type(value) is str:
        if len(value) == 26 and _STORED_TS.fullmatch(value):
            return f"{value[:10]}T{value[11:]}Z"
        if len(value) == 27 and _CANONICAL_TS.fullmatch(value):
            return value
    return None


def event_bytes_from_text(values: Sequence[Any]) -> bytes | None:
    """The leaf bytes of an event read raw from the database: the 21 columns in
    ``EVENT_COLUMNS`` order (further values are ignored), with ``ts`` as text (see
    ``canonical_ts_text``) and ``fields`` and ``details`` as JSON text. It builds the same
    record as ``event_record`` and serialises it with the same canonical JSON, so the bytes are
    identical to ``event_bytes``. None when a value is not in a form this path reads; the
    caller then reads the row typed and uses ``event_bytes``."""
    return events_bytes_from_text([values])[0]


def events_bytes_from_text(
    rows: Iterable[Sequence[Any]], *, then: Callable[[bytes], bytes] | None = None
) -> list[bytes | None]:
    """``event_bytes_from_text`` over many rows (the verifier's hot loop); with ``then`` (such
    as the leaf hash), ``then(bytes)`` for each row instead of the bytes."""
    loads, dumps, sort_keys = orjson.loads, orjson.dumps, _SORTED
    stored_ts, canonical_ts = _STORED_TS.fullmatch, _CANONICAL_TS.fullmatch
    columns = EVENT_COLUMNS
    out: list[bytes | None] = []
    append = out.append
    for values in rows:
        ts = values[_TS_AT]
        if type(ts) is not str:
            append(None)
            continue
        if len(ts) == 26 and stored_ts(ts):
            ts = f"{ts[:10]}T{ts[11:]}Z"
        elif len(ts) != 27 or not canonical_ts(ts):
            append(None)
            continue
        fields, details = values[_FIELDS_AT], values[_DETAILS_AT]
        try:
            record = dict(zip(columns, values, strict=False))
            record["ts"] = ts
            # As event_record: null -> [] and {}, and list()/dict() of what was stored.
            record["fields"] = list(loads(fields) or []) if fields is not None else []
            record["details"] = dict(loads(details) or {}) if details is not None else {}
            data = dumps(record, option=sort_keys)
            append(then(data) if then is not None else data)
        except (TypeError, ValueError):  # orjson's errors are ValueError or TypeError
            append(None)
    return out


def event_bytes(row: Mapping[Any, Any]) -> bytes:
    """The leaf bytes of an event: canonical JSON of its stored columns."""
    return canonical_json(event_record(row))


def event_line(row: Mapping[Any, Any]) -> bytes:
    """One export line for an event: its columns plus ``type`` and ``leaf_index`` (null while
    unsealed), newline-terminated."""
    record = event_record(row)
    record["type"] = "event"
    record["leaf_index"] = row.get("leaf_index")
    return canonical_json(record) + b"\n"


def seal_body(seal: Mapping[Any, Any]) -> dict[str, Any]:
    return {
        "v": 1,
        "seal_index": int(seal["seal_index"]),
        "leaf_start": int(seal["leaf_start"]),
        "leaf_count": int(seal["leaf_count"]),
        "root": seal["root"],
        "prev_hash": seal["prev_hash"],
        "sealed_at": seal["sealed_at"],
        "key_id": seal["key_id"],
    }


def seal_body_bytes(seal: Mapping[Any, Any]) -> bytes:
    """What is signed and hashed for a seal: canonical JSON of its body."""
    return canonical_json(seal_body(seal))


def seal_hash(seal: Mapping[Any, Any]) -> str:
    return sha256(seal_body_bytes(seal)).hexdigest()


def seal_record(seal: Mapping[Any, Any], *, with_leaves: bool = True) -> dict[str, Any]:
    record = seal_body(seal)
    record["signature"] = seal["signature"]
    record["seal_hash"] = seal["seal_hash"]
    if with_leaves:
        record["leaf_hashes"] = base64.b64encode(bytes(seal["leaf_hashes"])).decode()
    return record


def seal_line(seal: Mapping[Any, Any]) -> bytes:
    """One export line for a seal; it follows the event lines of its batch."""
    record = seal_record(seal)
    record["type"] = "seal"
    return canonical_json(record) + b"\n"


def anchor_body(anchor: Mapping[str, Any]) -> dict[str, Any]:
    """What the hub signs when it archives: the seal the remaining log chains to."""
    return {
        "v": 1,
        "type": "archive_anchor",
        "seal_index": int(anchor["seal_index"]),
        "seal_hash": anchor["seal_hash"],
        "leaf_end": int(anchor["leaf_end"]),
        "signed_at": anchor["signed_at"],
        "key_id": anchor["key_id"],
    }


def anchor_body_bytes(anchor: Mapping[str, Any]) -> bytes:
    return canonical_json(anchor_body(anchor))


def header_line(*, anchor: Mapping[str, Any] | None = None) -> bytes:
    """The first line of an export. ``anchor`` is what the first exported seal must chain
    to: a signed archive anchor (``kind: "archive"``) or, for a range, the full seal before
    it (``kind: "seal"``); docs/audit.md section 8."""
    record: dict[str, Any] = {"type": "header", "format": FORMAT, "anchor": None}
    if anchor is not None:
        record["anchor"] = dict(anchor)
    return canonical_json(record) + b"\n"
