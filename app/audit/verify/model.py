"""What the access-log verifier works on and reports: problem codes, events and seals as it sees
them, the trust anchors (archive, seal, pinned head), problems and the report. Pure: no I/O."""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from app.audit.merkle import leaf_hash


class Code:
    """Stable problem codes (docs/audit.md lists what each means)."""

    EVENT_HASH_MISMATCH = "event_hash_mismatch"
    SEQUENCE_GAP = "sequence_gap"
    EVENT_INSERTED = "event_inserted"
    EVENT_OUT_OF_ORDER = "event_out_of_order"
    SEAL_MISSING = "seal_missing"
    SEAL_EDITED = "seal_edited"
    ROOT_MISMATCH = "root_mismatch"
    CHAIN_BROKEN = "chain_broken"
    BAD_SIGNATURE = "bad_signature"
    UNKNOWN_KEY = "unknown_key"
    KEY_RETIRED = "key_retired"
    ANCHOR_UNSIGNED = "anchor_unsigned"
    ANCHOR_INVALID = "anchor_invalid"
    PINNED_HEAD_MISSING = "pinned_head_missing"
    PINNED_HEAD_MISMATCH = "pinned_head_mismatch"
    MALFORMED = "malformed"


@dataclass(slots=True)
class EventItem:
    """One event as the verifier sees it: its id, its chain position and its leaf bytes
    (``data``), or only their leaf hash ``SHA-256(0x00 || data)`` (``hashed``) when the reader
    hashed them as it read them (the JSONL and database readers do: keeping a million leaf
    byte strings alive costs more than the hashing)."""

    seq: int
    leaf_index: int | None
    data: bytes = b""
    hashed: bytes | None = None

    def leaf(self) -> bytes:
        h = self.hashed
        return h if h is not None else leaf_hash(self.data)


@dataclass(slots=True)
class SealItem:
    seal_index: int
    leaf_start: int
    leaf_count: int
    root: str
    prev_hash: str
    sealed_at: str
    key_id: str
    signature: str
    seal_hash: str
    leaf_hashes: bytes | None

    @classmethod
    def from_mapping(cls, m: Mapping[str, Any]) -> SealItem:
        leaves = m.get("leaf_hashes")
        if isinstance(leaves, str):
            leaves = base64.b64decode(leaves)
        return cls(
            seal_index=int(m["seal_index"]),
            leaf_start=int(m["leaf_start"]),
            leaf_count=int(m["leaf_count"]),
            root=m["root"],
            prev_hash=m["prev_hash"],
            sealed_at=m["sealed_at"],
            key_id=m["key_id"],
            signature=m["signature"],
            seal_hash=m["seal_hash"],
            leaf_hashes=bytes(leaves) if leaves is not None else None,
        )

    def body(self) -> dict[str, Any]:
        return {
            "seal_index": self.seal_index,
            "leaf_start": self.leaf_start,
            "leaf_count": self.leaf_count,
            "root": self.root,
            "prev_hash": self.prev_hash,
            "sealed_at": self.sealed_at,
            "key_id": self.key_id,
        }


# The seal's columns, in SealItem's order: the audit_seals table and the export name them alike.
SEAL_COLUMNS = tuple(f.name for f in fields(SealItem))


@dataclass(frozen=True, slots=True)
class Anchor:
    """Where verification starts: the last seal before the verified range. ``kind`` is
    ``"archive"`` (the hub signed ``anchor_body`` when it archived the seals up to here) or
    ``"seal"`` (a range: ``seal`` is that seal itself, whose own signature vouches for it)."""

    seal_index: int
    seal_hash: str
    leaf_end: int
    kind: str = "archive"
    signed_at: str | None = None
    key_id: str | None = None
    signature: str | None = None
    seal: SealItem | None = None

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Anchor:
        """An export header's ``anchor``; one without ``kind`` is an (unsigned) archive."""
        if record.get("kind") == "seal":
            seal = SealItem.from_mapping({**record["seal"], "leaf_hashes": None})
            return cls(
                seal.seal_index,
                seal.seal_hash,
                seal.leaf_start + seal.leaf_count,
                kind="seal",
                seal=seal,
            )
        return cls(
            int(record["seal_index"]),
            str(record["seal_hash"]),
            int(record["leaf_end"]),
            signed_at=record.get("signed_at"),
            key_id=record.get("key_id"),
            signature=record.get("signature"),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "seal_index": self.seal_index,
            "seal_hash": self.seal_hash,
            "leaf_end": self.leaf_end,
        }


# SEAL_INDEX:SEAL_HASH; at most 18 digits, so that the index always fits a BIGINT.
PINNED_HEAD_PATTERN = r"^[0-9]{1,18}:[0-9a-f]{64}$"


@dataclass(frozen=True, slots=True)
class PinnedHead:
    """A seal an auditor saved earlier (``head`` of a report, or a proof's seal): the log must
    still hold seal ``seal_index`` with hash ``seal_hash``, or it was cut at one end."""

    seal_index: int
    seal_hash: str

    @classmethod
    def parse(cls, text: str) -> PinnedHead:
        """``INDEX:HASH``, as ``declare-once audit verify --pinned-head`` takes it."""
        text = text.strip().lower()
        if not re.fullmatch(PINNED_HEAD_PATTERN, text):
            raise ValueError(
                "a pinned head is SEAL_INDEX:SEAL_HASH (up to 18 digits, then 64 hex digits)"
            )
        index, _, digest = text.partition(":")
        return cls(int(index), digest)


def archive_anchor_record(archive: Any) -> dict[str, Any]:
    """The signed anchor of an ``audit_archives`` row, as an export header carries it."""
    return {
        "kind": "archive",
        "seal_index": archive.last_seal,
        "seal_hash": archive.last_seal_hash,
        "leaf_end": archive.leaf_end,
        "signed_at": archive.anchor_signed_at,
        "key_id": archive.anchor_key_id,
        "signature": archive.anchor_signature,
    }


@dataclass(slots=True)
class Problem:
    code: str
    detail: str
    seq: int | None = None
    leaf_index: int | None = None
    seal_index: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "seq": self.seq,
            "leaf_index": self.leaf_index,
            "seal_index": self.seal_index,
            "detail": self.detail,
        }


@dataclass(slots=True)
class Report:
    ok: bool = True
    events: int = 0
    seals: int = 0
    unsealed: int = 0
    problems: list[Problem] = field(default_factory=list)
    anchor: Anchor | None = None
    head: dict[str, Any] | None = None
    truncated: bool = False
    pinned: PinnedHead | None = None

    @property
    def first(self) -> Problem | None:
        return self.problems[0] if self.problems else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "events_verified": self.events,
            "seals_verified": self.seals,
            "unsealed_events": self.unsealed,
            "first_problem": self.first.as_dict() if self.first else None,
            "problems": [p.as_dict() for p in self.problems],
            "problems_truncated": self.truncated,
            "anchor": self.anchor.as_dict() if self.anchor else None,
            "head": self.head,
            "pinned_head": (
                {"seal_index": self.pinned.seal_index, "seal_hash": self.pinned.seal_hash}
                if self.pinned
                else None
            ),
        }
