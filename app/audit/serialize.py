"""The access log's exact bytes: canonical events, seal bodies and the JSONL export lines.

Everything a verifier hashes is defined here, once, and docs/audit.md describes the same
rules in prose so that a third party can reimplement them. The export (``/v1/audit/export``
and ``declare-once audit export``) writes these lines, and ``declare-once audit verify --file``
reads them back.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
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


def header_line(*, anchor: Mapping[str, Any] | None = None) -> bytes:
    """The first line of an export. ``anchor`` (the last seal before the exported range, or
    the last archived seal) is what the first exported seal must chain to."""
    record: dict[str, Any] = {"type": "header", "format": FORMAT, "anchor": None}
    if anchor is not None:
        record["anchor"] = {
            "seal_index": int(anchor["seal_index"]),
            "seal_hash": anchor["seal_hash"],
            "leaf_end": int(anchor["leaf_end"]),
        }
    return canonical_json(record) + b"\n"
