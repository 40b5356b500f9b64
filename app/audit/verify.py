"""Verifying the access log: a pure function over events, seals and public keys.

The verifier recomputes every leaf hash, every batch root, every seal hash and signature and
every chain link, and reports each problem with a stable code and where it is: the event's
``seq`` (its id), its ``leaf_index`` (its position in the chain) and the ``seal_index``.
Readers feed it from the database (``verify_database``, streaming seal by seal) or from a
JSONL export (``verify_jsonl``); ``export_lines`` writes that JSONL. docs/audit.md describes the
same algorithm for independent verifiers.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import re
from bisect import bisect_left
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from hashlib import sha256
from typing import IO, Any, cast

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.merkle import leaf_hash, root_of, root_of_joined
from app.audit.models import AuditArchive, AuditEvent, AuditSeal
from app.audit.serialize import (
    EVENT_COLUMNS,
    FORMAT,
    GENESIS_HASH,
    anchor_body_bytes,
    event_bytes,
    event_line,
    events_bytes_from_text,
    format_ts,
    header_line,
    seal_body_bytes,
    seal_line,
    seal_record,
)


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


class Verifier:
    """Feed it batches in chain order: ``feed(events, seal)``; then ``finish(trailing)``.

    ``events`` are the events positioned between the previous seal's end and this seal's end,
    sorted by (leaf_index, seq).
    """

    def __init__(
        self,
        public_keys: Mapping[str, Ed25519PublicKey],
        *,
        anchor: Anchor | None = None,
        pinned: PinnedHead | None = None,
        max_problems: int = 100,
    ) -> None:
        self._keys = public_keys
        self._retired: Mapping[str, str] = getattr(public_keys, "retired_at", {})
        self.report = Report(anchor=anchor, pinned=pinned)
        self._max = max_problems
        self._next_index = anchor.seal_index + 1 if anchor else 0
        self._next_leaf = anchor.leaf_end if anchor else 0
        self._prev_hash = anchor.seal_hash if anchor else GENESIS_HASH
        self._pinned = pinned
        self._pinned_seen = False
        if anchor is not None:
            self._check_anchor(anchor)

    def _check_anchor(self, anchor: Anchor) -> None:
        """An anchor counts only if signed: by the hub when it archived (``archive``), or as
        the range's preceding seal whose own signature is checked (``seal``)."""
        if anchor.seal is not None:
            seal = anchor.seal
            check = Verifier(self._keys)
            check._check_seal(seal, None, list, linked=False)
            for problem in check.report.problems:
                if problem.code != Code.ROOT_MISMATCH:  # its events are not in the range
                    self._problem(problem)
            return
        where = {"seal_index": anchor.seal_index, "leaf_index": anchor.leaf_end}
        if not (anchor.signature and anchor.key_id and anchor.signed_at):
            self._problem(
                Problem(
                    Code.ANCHOR_UNSIGNED,
                    f"the anchor (seal {anchor.seal_index}) carries no signature: it cannot "
                    "be told from a log whose oldest batches were cut",
                    **where,
                )
            )
            return
        key = self._keys.get(anchor.key_id)
        body = anchor_body_bytes(
            {
                "seal_index": anchor.seal_index,
                "seal_hash": anchor.seal_hash,
                "leaf_end": anchor.leaf_end,
                "signed_at": anchor.signed_at,
                "key_id": anchor.key_id,
            }
        )
        reason = None
        if key is None:
            reason = f"it names key {anchor.key_id}, which is not published"
        elif not _signature_ok(key, anchor.signature, body):
            reason = f"its signature does not verify under key {anchor.key_id}"
        else:
            reason = self._retired_reason(anchor.key_id, anchor.signed_at)
        if reason is not None:
            self._problem(
                Problem(
                    Code.ANCHOR_INVALID, f"the anchor (seal {anchor.seal_index}): {reason}", **where
                )
            )

    def _retired_reason(self, key_id: str, signed_at: str) -> str | None:
        retired = self._retired.get(key_id)
        if retired is None:
            return None
        try:
            when = format_ts(signed_at)
        except ValueError:
            return f"its signing time {signed_at!r} is not a timestamp"
        if when > retired:
            return f"signed at {when}, after its key {key_id} was retired at {retired}"
        return None

    @property
    def next_leaf(self) -> int:
        """The chain position after the last seal fed so far."""
        return self._next_leaf

    def _problem(self, problem: Problem) -> None:
        self.report.ok = False
        if len(self.report.problems) < self._max:
            self.report.problems.append(problem)
        else:
            self.report.truncated = True

    def feed(self, events: list[EventItem], seal: SealItem) -> None:
        report = self.report
        report.seals += 1
        report.events += len(events)
        start = seal.leaf_start
        orphans = [e for e in events if e.leaf_index is not None and e.leaf_index < start]
        linked = self._link(seal, orphans)
        if orphans:
            events = [e for e in events if e.leaf_index is None or e.leaf_index >= start]
        batch_ok = self._check_seal(
            seal, self._first_seq(events), lambda: [e.leaf() for e in events], linked
        )
        if batch_ok:
            self._check_events(events, seal)
        self._advance(seal)

    def feed_hashed(
        self,
        seqs: list[int],
        leaf_indexes: list[int | None],
        hashes: list[bytes],
        seal: SealItem,
    ) -> None:
        """``feed`` for events given as three lists (id, position, leaf hash) in the order
        read. When every event sits at its own position, densely, and the hashes are the
        seal's recorded leaf hashes, the event checks of ``feed`` pass by definition, and the
        seal checks are the same as ``feed`` makes. Otherwise it is ``feed`` itself, with the
        events sorted by (leaf_index, seq)."""
        start, count = seal.leaf_start, seal.leaf_count
        if (
            len(hashes) == count
            and seal.leaf_hashes is not None
            and leaf_indexes == list(range(start, start + count))
            and b"".join(hashes) == seal.leaf_hashes
        ):
            self.report.seals += 1
            self.report.events += count
            linked = self._link(seal, [])
            self._check_seal(seal, seqs[0] if seqs else None, lambda: hashes, linked)
            self._advance(seal)
            return
        events = [
            EventItem(s, i, b"", h) for s, i, h in zip(seqs, leaf_indexes, hashes, strict=True)
        ]
        _batch_order(events)
        self.feed(events, seal)

    def _link(self, seal: SealItem, orphans: list[EventItem]) -> bool:
        """Is the seal the expected next one? Reports a missing seal, or events positioned
        before their batch."""
        start = seal.leaf_start
        if seal.seal_index != self._next_index or start != self._next_leaf:
            first = orphans[0] if orphans else None
            self._problem(
                Problem(
                    Code.SEAL_MISSING,
                    f"expected seal {self._next_index} over leaves from {self._next_leaf}, "
                    f"found seal {seal.seal_index} over leaves from {start}",
                    seq=first.seq if first else None,
                    leaf_index=first.leaf_index if first else self._next_leaf,
                    seal_index=self._next_index,
                )
            )
            return False
        if orphans:
            self._problem(
                Problem(
                    Code.EVENT_INSERTED,
                    "event positioned before its batch",
                    seq=orphans[0].seq,
                    leaf_index=orphans[0].leaf_index,
                    seal_index=seal.seal_index,
                )
            )
        return True

    def _advance(self, seal: SealItem) -> None:
        body = seal.body()
        self._prev_hash = sha256(seal_body_bytes(body)).hexdigest()
        self._next_index = seal.seal_index + 1
        self._next_leaf = seal.leaf_start + seal.leaf_count
        pinned = self._pinned
        if pinned is not None and pinned.seal_index == seal.seal_index:
            self._pinned_seen = True
            if pinned.seal_hash != self._prev_hash:
                self._problem(
                    Problem(
                        Code.PINNED_HEAD_MISMATCH,
                        f"seal {seal.seal_index} hashes to {self._prev_hash[:16]}..., not to "
                        f"the pinned {pinned.seal_hash[:16]}...: the log was rewritten",
                        leaf_index=seal.leaf_start,
                        seal_index=seal.seal_index,
                    )
                )
        self.report.head = {
            "seal_index": seal.seal_index,
            "seal_hash": self._prev_hash,
            "leaf_end": self._next_leaf,
            "sealed_at": seal.sealed_at,
        }

    def _first_seq(self, events: list[EventItem]) -> int | None:
        return events[0].seq if events else None

    def _check_seal(
        self,
        seal: SealItem,
        first_seq: int | None,
        event_leaves: Callable[[], list[bytes]],
        linked: bool,
    ) -> bool:
        """Seal-level checks; False when the batch's expected leaf hashes are unusable.
        ``event_leaves()`` gives the batch's events' leaf hashes, in order."""
        where = {"seq": first_seq, "seal_index": seal.seal_index}
        body_bytes = seal_body_bytes(seal.body())
        if linked and seal.prev_hash != self._prev_hash:
            self._problem(
                Problem(
                    Code.CHAIN_BROKEN,
                    f"seal {seal.seal_index} chains to {seal.prev_hash[:16]}..., the previous "
                    f"seal hashes to {self._prev_hash[:16]}...",
                    leaf_index=seal.leaf_start,
                    **where,
                )
            )
        if sha256(body_bytes).hexdigest() != seal.seal_hash:
            self._problem(
                Problem(
                    Code.SEAL_EDITED,
                    f"seal {seal.seal_index}'s fields do not hash to its recorded seal hash",
                    leaf_index=seal.leaf_start,
                    **where,
                )
            )
        key = self._keys.get(seal.key_id)
        if key is None:
            self._problem(
                Problem(
                    Code.UNKNOWN_KEY,
                    f"seal {seal.seal_index} names key {seal.key_id}, which is not published",
                    leaf_index=seal.leaf_start,
                    **where,
                )
            )
        elif not _signature_ok(key, seal.signature, body_bytes):
            self._problem(
                Problem(
                    Code.BAD_SIGNATURE,
                    f"seal {seal.seal_index}'s signature does not verify under key {seal.key_id}",
                    leaf_index=seal.leaf_start,
                    **where,
                )
            )
        elif self._retired and (retired := self._retired_reason(seal.key_id, seal.sealed_at)):
            self._problem(
                Problem(
                    Code.KEY_RETIRED,
                    f"seal {seal.seal_index} was {retired}",
                    leaf_index=seal.leaf_start,
                    **where,
                )
            )
        stored = seal.leaf_hashes
        if (
            stored is not None
            and len(stored) == 32 * seal.leaf_count
            and root_of_joined(stored).hex() == seal.root
        ):
            return True
        # The per-leaf hashes are missing or not those of the signed root: check the root
        # against the events themselves; the batch can be named but not the exact event.
        leaves = event_leaves()
        computed = root_of(leaves).hex()
        if computed != seal.root or len(leaves) != seal.leaf_count:
            self._problem(
                Problem(
                    Code.ROOT_MISMATCH,
                    f"the events of seal {seal.seal_index} do not hash to its root",
                    leaf_index=seal.leaf_start,
                    **where,
                )
            )
        elif stored is not None:
            self._problem(
                Problem(
                    Code.SEAL_EDITED,
                    f"seal {seal.seal_index}'s recorded leaf hashes do not match its root",
                    leaf_index=seal.leaf_start,
                    **where,
                )
            )
        return False

    def _check_events(self, events: list[EventItem], seal: SealItem) -> None:
        stored = seal.leaf_hashes
        assert stored is not None
        start, count = seal.leaf_start, seal.leaf_count
        n_events = len(events)
        # The common case in one comparison: every position present, every leaf as sealed.
        if (
            n_events == count
            and b"".join([e.leaf() for e in events]) == stored
            and [e.leaf_index for e in events] == list(range(start, start + count))
        ):
            return
        j = 0
        for i in range(count):
            leaf = start + i
            expected = stored[32 * i : 32 * i + 32]
            event = events[j] if j < n_events else None
            if event is None or event.leaf_index is None or event.leaf_index > leaf:
                self._problem(
                    Problem(
                        Code.SEQUENCE_GAP,
                        f"no event at leaf {leaf}: it was deleted",
                        seq=event.seq if event else None,
                        leaf_index=leaf,
                        seal_index=seal.seal_index,
                    )
                )
                return
            h = event.leaf()
            if event.leaf_index < leaf:
                code = Code.EVENT_INSERTED
            elif h == expected:
                j += 1
                continue
            else:
                code = self._classify(h, events, j, stored, i)
            detail = {
                Code.EVENT_INSERTED: "an event that the seal does not contain",
                Code.SEQUENCE_GAP: f"the event at leaf {leaf} was deleted; the next one moved up",
                Code.EVENT_OUT_OF_ORDER: "an event sealed at another position (reordered)",
                Code.EVENT_HASH_MISMATCH: "the event's content differs from what was sealed",
            }[code]
            self._problem(
                Problem(code, detail, seq=event.seq, leaf_index=leaf, seal_index=seal.seal_index)
            )
            return
        if j < n_events:
            extra = events[j]
            self._problem(
                Problem(
                    Code.EVENT_INSERTED,
                    "an event inside a sealed range that the seal does not contain",
                    seq=extra.seq,
                    leaf_index=extra.leaf_index,
                    seal_index=seal.seal_index,
                )
            )

    @staticmethod
    def _classify(h: bytes, events: list[EventItem], j: int, stored: bytes, i: int) -> str:
        following = stored[32 * (i + 1) : 32 * (i + 2)]
        next_hash = events[j + 1].leaf() if j + 1 < len(events) else None
        expected = stored[32 * i : 32 * i + 32]
        if h == following:
            return Code.EVENT_OUT_OF_ORDER if next_hash == expected else Code.SEQUENCE_GAP
        if next_hash == expected:
            return Code.EVENT_INSERTED
        if any(stored[k : k + 32] == h for k in range(0, len(stored), 32)):
            return Code.EVENT_OUT_OF_ORDER
        return Code.EVENT_HASH_MISMATCH

    def finish(self, trailing: Iterable[EventItem] = (), *, unsealed: int = 0) -> Report:
        """``trailing``: events after the last seal. Unsealed ones (no leaf index) are
        pending, not a problem; ones that claim a sealed position lost their seal.
        ``unsealed`` adds pending events counted elsewhere."""
        self.report.unsealed += unsealed
        self.check_pinned()
        for event in trailing:
            if event.leaf_index is None:
                self.report.unsealed += 1
                continue
            self.report.events += 1
            if self.report.ok or not any(
                p.code == Code.SEAL_MISSING and p.seal_index == self._next_index
                for p in self.report.problems
            ):
                self._problem(
                    Problem(
                        Code.SEAL_MISSING,
                        f"event at leaf {event.leaf_index} has no seal {self._next_index}",
                        seq=event.seq,
                        leaf_index=event.leaf_index,
                        seal_index=self._next_index,
                    )
                )
        return self.report

    @property
    def pinned_seen(self) -> bool:
        return self._pinned_seen

    def check_pinned_seal(self, seal: SealItem) -> None:
        """The pinned seal, read on its own (outside a verified range): it must hash as
        pinned."""
        pinned = self._pinned
        if pinned is None:
            return
        self._pinned_seen = True
        actual = sha256(seal_body_bytes(seal.body())).hexdigest()
        if actual != pinned.seal_hash:
            self._problem(
                Problem(
                    Code.PINNED_HEAD_MISMATCH,
                    f"seal {seal.seal_index} hashes to {actual[:16]}..., not to the pinned "
                    f"{pinned.seal_hash[:16]}...: the log was rewritten",
                    leaf_index=seal.leaf_start,
                    seal_index=seal.seal_index,
                )
            )

    def check_pinned(self, *, last_seal: int | None = None) -> None:
        """After the last seal: a pinned head the chain did not pass through means the log
        was cut, at its tail (the pinned seal is past the end) or at its head (it lies
        before the anchor). ``last_seal``: the stored log's last seal, when only a range was
        verified and the pinned seal was checked on its own."""
        pinned, anchor = self._pinned, self.report.anchor
        if pinned is None or self._pinned_seen:
            return
        self._pinned_seen = True
        end = last_seal if last_seal is not None else self._next_index - 1
        if anchor is not None and pinned.seal_index == anchor.seal_index:
            if pinned.seal_hash != anchor.seal_hash:
                self._problem(
                    Problem(
                        Code.PINNED_HEAD_MISMATCH,
                        f"the anchor (seal {anchor.seal_index}) has hash "
                        f"{anchor.seal_hash[:16]}..., not the pinned {pinned.seal_hash[:16]}...",
                        seal_index=pinned.seal_index,
                    )
                )
            return
        if anchor is not None and pinned.seal_index < anchor.seal_index:
            detail = (
                f"the pinned seal {pinned.seal_index} lies before this log's anchor (seal "
                f"{anchor.seal_index}): its oldest batches are not here (verify the archive "
                "that holds the pinned seal, or pin a newer head)"
            )
        elif pinned.seal_index > end:
            detail = (
                f"the log ends at seal {end}; the pinned seal {pinned.seal_index} is gone: "
                "its newest seals (and their events) were removed"
            )
        else:
            detail = f"the pinned seal {pinned.seal_index} is not in the chain"
        self._problem(
            Problem(
                Code.PINNED_HEAD_MISSING,
                detail,
                leaf_index=self._next_leaf,
                seal_index=pinned.seal_index,
            )
        )


def _signature_ok(key: Ed25519PublicKey, signature: str, body: bytes) -> bool:
    try:
        key.verify(base64.b64decode(signature, validate=True), body)
    except (InvalidSignature, binascii.Error, ValueError, TypeError):
        return False
    return True


def verify_log(
    batches: Iterable[tuple[list[EventItem], SealItem]],
    public_keys: Mapping[str, Ed25519PublicKey],
    *,
    anchor: Anchor | None = None,
    pinned: PinnedHead | None = None,
    trailing: Iterable[EventItem] = (),
    progress: Callable[[int], None] | None = None,
) -> Report:
    """Verify a log given as batches (events, seal) in chain order. Pure: no I/O."""
    verifier = Verifier(public_keys, anchor=anchor, pinned=pinned)
    for events, seal in batches:
        verifier.feed(events, seal)
        if progress is not None:
            progress(len(events))
    return verifier.finish(trailing)


# --- JSONL -----------------------------------------------------------------------------------


_BLOCK = 1 << 22  # read exports 4 MiB at a time, not line by line


def _batch_order(events: list[EventItem]) -> None:
    """Sort a batch by (leaf_index, seq), unsealed last. An untampered batch is already in
    strictly increasing leaf order, which one pass checks without a key per event."""
    try:
        previous = -1
        for event in events:
            leaf = event.leaf_index
            if leaf <= previous:  # type: ignore[operator]
                break
            previous = leaf  # type: ignore[assignment]
        else:
            return
    except TypeError:  # a null leaf_index among them
        pass
    events.sort(key=lambda e: (e.leaf_index is None, e.leaf_index or 0, e.seq))


class JsonlLog:
    """Reads an export: header, then event lines, each batch followed by its seal line."""

    def __init__(self, handle: IO[bytes]) -> None:
        self._handle = handle
        self.anchor: Anchor | None = None
        self.trailing: list[EventItem] = []
        self.bytes_read = 0

    def _lines(self) -> Iterator[bytes]:
        read = self._handle.read
        rest = b""
        while True:
            block = read(_BLOCK)
            if not block:
                break
            lines = (rest + block).split(b"\n") if rest else block.split(b"\n")
            rest = lines.pop()
            yield from lines
        if rest:
            yield rest

    def hashed_batches(
        self,
    ) -> Iterator[tuple[list[int], list[int | None], list[bytes], SealItem]]:
        """Each batch as (ids, positions, leaf hashes) in file order, and its seal
        (``Verifier.feed_hashed``). Unsealed events end up in ``trailing``."""
        seqs: list[int] = []
        leaves: list[int | None] = []
        hashes: list[bytes] = []
        loads, dumps, sort_keys = orjson.loads, orjson.dumps, orjson.OPT_SORT_KEYS
        line_no = 0
        for line in self._lines():
            line_no += 1
            self.bytes_read += len(line) + 1
            if not line.strip():
                continue
            obj = loads(line)
            kind = obj.get("type")
            if kind == "event":
                # The leaf bytes are the line without type and leaf_index, canonicalised
                # (canonical_json and leaf_hash, inlined for this loop).
                del obj["type"]
                leaves.append(obj.pop("leaf_index", None))
                hashes.append(sha256(b"\x00" + dumps(obj, option=sort_keys)).digest())
                seqs.append(int(obj["seq"]))
            elif kind == "seal":
                yield seqs, leaves, hashes, SealItem.from_mapping(obj)
                seqs, leaves, hashes = [], [], []
            elif kind == "header":
                if obj.get("format") != FORMAT:
                    raise ValueError(f"line {line_no}: unknown format {obj.get('format')!r}")
                if obj.get("anchor"):
                    self.anchor = Anchor.from_record(obj["anchor"])
            else:
                raise ValueError(f"line {line_no}: unknown line type {kind!r}")
        self.trailing = [
            EventItem(s, i, b"", h) for s, i, h in zip(seqs, leaves, hashes, strict=True)
        ]


def verify_jsonl(
    handle: IO[bytes],
    public_keys: Mapping[str, Ed25519PublicKey],
    *,
    pinned: PinnedHead | None = None,
    progress: Callable[[int], None] | None = None,
) -> Report:
    log = JsonlLog(handle)
    verifier: Verifier | None = None
    for seqs, leaf_indexes, hashes, seal in log.hashed_batches():
        if verifier is None:
            verifier = Verifier(public_keys, anchor=log.anchor, pinned=pinned)
        verifier.feed_hashed(seqs, leaf_indexes, hashes, seal)
        if progress is not None:
            progress(log.bytes_read)
    if verifier is None:
        verifier = Verifier(public_keys, anchor=log.anchor, pinned=pinned)
    return verifier.finish(log.trailing)


# --- the database ------------------------------------------------------------------------------

_EVENT_SELECT = [*(getattr(AuditEvent, c) for c in EVENT_COLUMNS), AuditEvent.leaf_index]


def _event_item(row: Any) -> EventItem:
    m = row._mapping
    return EventItem(m["seq"], m["leaf_index"], event_bytes(m))


async def database_anchor(session: AsyncSession) -> Anchor | None:
    """The signed anchor left by retention: the last archived seal, if any."""
    archive = await session.scalar(
        select(AuditArchive).order_by(AuditArchive.last_seal.desc()).limit(1)
    )
    return Anchor.from_record(archive_anchor_record(archive)) if archive is not None else None


def _seal_anchor(seal: AuditSeal) -> Anchor:
    """A range's anchor: the seal before it, checked by its own signature."""
    return Anchor.from_record(
        {"kind": "seal", "seal": seal_record(seal_mapping(seal), with_leaves=False)}
    )


async def _seal_at(session: AsyncSession, seal_index: int) -> AuditSeal | None:
    return await session.get(AuditSeal, seal_index)


async def _range_to_seals(
    session: AsyncSession, from_seq: int | None, to_seq: int | None
) -> tuple[int | None, int | None]:
    """Seal indexes covering the sealed events with ``from_seq <= seq <= to_seq``."""

    async def seal_holding(leaf: int) -> int | None:
        return await session.scalar(
            select(AuditSeal.seal_index)
            .where(AuditSeal.leaf_start <= leaf)
            .order_by(AuditSeal.seal_index.desc())
            .limit(1)
        )

    first_seal = last_seal = None
    if from_seq is not None:
        leaf = await session.scalar(
            select(func.min(AuditEvent.leaf_index)).where(
                AuditEvent.seq >= from_seq, AuditEvent.leaf_index.is_not(None)
            )
        )
        if leaf is not None:
            first_seal = await seal_holding(leaf)
    if to_seq is not None:
        leaf = await session.scalar(
            select(func.max(AuditEvent.leaf_index)).where(
                AuditEvent.seq <= to_seq, AuditEvent.leaf_index.is_not(None)
            )
        )
        last_seal = await seal_holding(leaf) if leaf is not None else -1
    return first_seal, last_seal


def _seal_item(seal: AuditSeal) -> SealItem:
    return SealItem.from_mapping(seal_mapping(seal))


async def _sealed_rows(
    session: AsyncSession,
    *,
    first_seal: int | None,
    last_seal: int | None,
    cover_gaps: bool,
    page: int = 20,
) -> AsyncIterator[tuple[AuditSeal, list[Any]]]:
    """Seals in chain order, a page at a time, each with its batch's event rows. With
    ``cover_gaps`` a batch's rows start at the previous seal's end rather than its own start,
    so that events whose seal was deleted are seen too."""
    after = (first_seal - 1) if first_seal is not None else -1
    next_leaf: int | None = None
    while True:
        query = select(AuditSeal).where(AuditSeal.seal_index > after)
        if last_seal is not None:
            query = query.where(AuditSeal.seal_index <= last_seal)
        seals = list(
            (await session.scalars(query.order_by(AuditSeal.seal_index).limit(page))).all()
        )
        if not seals:
            return
        for seal in seals:
            lower = seal.leaf_start
            if cover_gaps and next_leaf is not None:
                lower = min(next_leaf, seal.leaf_start)
            end = seal.leaf_start + seal.leaf_count
            rows = await session.execute(
                select(*_EVENT_SELECT)
                .where(AuditEvent.leaf_index >= lower, AuditEvent.leaf_index < end)
                .order_by(AuditEvent.leaf_index, AuditEvent.seq)
            )
            yield seal, list(rows)
            next_leaf = end
            after = seal.seal_index
        session.expunge_all()


async def stored_batches(
    session: AsyncSession, *, first_seal: int | None = None, last_seal: int | None = None
) -> AsyncIterator[tuple[list[EventItem], SealItem]]:
    """Batches from the database in chain order, for :class:`Verifier`."""
    async for seal, rows in _sealed_rows(
        session, first_seal=first_seal, last_seal=last_seal, cover_gaps=True
    ):
        yield [_event_item(r) for r in rows], _seal_item(seal)


async def trailing_events(session: AsyncSession, leaf_end: int) -> tuple[list[EventItem], int]:
    """After the last seal: events holding sealed positions without a seal (the first
    1,000), and the number of events not sealed yet."""
    rows = await session.execute(
        select(*_EVENT_SELECT)
        .where(AuditEvent.leaf_index >= leaf_end)
        .order_by(AuditEvent.leaf_index)
        .limit(1000)
    )
    orphans = [_event_item(r) for r in rows]
    unsealed = await session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.leaf_index.is_(None))
    )
    return orphans, unsealed or 0


# The fast reader: raw driver rows (no ORM entities, no per-row type processing), many seals'
# events per query. Only for drivers whose rows it knows how to read; others take
# stored_batches above. Leaf bytes come from serialize.event_bytes_from_text, which builds the
# same record as event_bytes; a row it cannot read is read again the typed way.

_SEAL_COLUMNS = (
    "seal_index, leaf_start, leaf_count, root, prev_hash, sealed_at, key_id, signature, "
    "seal_hash, leaf_hashes"
)
_SEALS_PER_PAGE = 64
_LEAVES_PER_QUERY = 50_000
_HASH_SLICE = 500


class _RawReader:
    def __init__(self, driver: Any, dialect: str) -> None:
        self._driver = driver
        self._pg = dialect == "postgresql"
        columns = [*EVENT_COLUMNS, "leaf_index"]
        if self._pg:
            # The canonical timestamp text, made by the server (serialize.canonical_ts_text).
            columns[columns.index("ts")] = (
                "to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
            )
            columns[columns.index("fields")] = "fields::text"
            columns[columns.index("details")] = "details::text"
        p1, p2 = ("$1", "$2") if self._pg else ("?", "?")
        self._events_sql = (
            f"SELECT {', '.join(columns)} FROM audit_events WHERE leaf_index >= {p1} "
            f"AND leaf_index < {p2} ORDER BY leaf_index, seq"
        )
        self._seals_sql = (
            f"SELECT {_SEAL_COLUMNS} FROM audit_seals WHERE seal_index > {p1} "
            f"AND seal_index <= {p2} ORDER BY seal_index LIMIT {_SEALS_PER_PAGE}"
        )

    @classmethod
    async def open(cls, session: AsyncSession) -> _RawReader | None:
        connection = await session.connection()
        name, driver = connection.dialect.name, connection.dialect.driver
        if (name, driver) not in (("sqlite", "aiosqlite"), ("postgresql", "asyncpg")):
            return None
        raw = await connection.get_raw_connection()
        return cls(raw.driver_connection, name)

    async def _fetch(self, sql: str, a: int, b: int) -> list[Any]:
        if self._pg:
            return list(await self._driver.fetch(sql, a, b))
        cursor = await self._driver.execute(sql, (a, b))
        try:
            return list(await cursor.fetchall())
        finally:
            await cursor.close()

    async def seals(self, after: int, last: int) -> list[SealItem]:
        rows = await self._fetch(self._seals_sql, after, last)
        return [
            SealItem(
                seal_index=r[0],
                leaf_start=r[1],
                leaf_count=r[2],
                root=r[3],
                prev_hash=r[4],
                sealed_at=r[5],
                key_id=r[6],
                signature=r[7],
                seal_hash=r[8],
                leaf_hashes=bytes(r[9]) if r[9] is not None else None,
            )
            for r in rows
        ]

    async def event_rows(self, lower: int, end: int) -> list[Any]:
        """Raw rows with ``lower <= leaf_index < end`` in (leaf_index, seq) order."""
        return await self._fetch(self._events_sql, lower, end) if end > lower else []


_Plan = tuple[list[tuple[SealItem, int, int]], int, int]


async def _plans(
    reader: _RawReader, *, first_seal: int | None, last_seal: int | None
) -> AsyncIterator[_Plan]:
    """Seals in chain order, grouped into queries: each plan is the seals with their leaf
    ranges, and the one range ``[lo, hi)`` that one query reads for all of them."""
    after = (first_seal - 1) if first_seal is not None else -1
    last = last_seal if last_seal is not None else (1 << 62)
    next_leaf: int | None = None
    while True:
        seals = await reader.seals(after, last)
        if not seals:
            return
        # As stored_batches: a seal's events are those with lower <= leaf_index < end, where
        # lower is the previous seal's end when that is smaller (so events whose seal was
        # deleted are seen too).
        ranges = []
        for seal in seals:
            lower = seal.leaf_start
            if next_leaf is not None:
                lower = min(next_leaf, seal.leaf_start)
            end = seal.leaf_start + seal.leaf_count
            ranges.append((seal, lower, end))
            next_leaf = end
        i = 0
        while i < len(ranges):
            j, lo, hi = i + 1, ranges[i][1], ranges[i][2]
            while j < len(ranges):
                lo2, hi2 = min(lo, ranges[j][1]), max(hi, ranges[j][2])
                if hi2 - lo2 > _LEAVES_PER_QUERY:
                    break
                lo, hi, j = lo2, hi2, j + 1
            yield ranges[i:j], lo, hi
            i = j
        after = seals[-1].seal_index


async def _raw_batches(
    session: AsyncSession,
    reader: _RawReader,
    *,
    first_seal: int | None,
    last_seal: int | None,
) -> AsyncIterator[tuple[list[int], list[int | None], list[bytes], SealItem]]:
    """The same batches as ``stored_batches`` (the same events, in the same order), from raw
    rows, several seals per query, as (ids, positions, leaf hashes) for
    ``Verifier.feed_hashed``. The next query runs while this one's rows are hashed."""
    plans = _plans(reader, first_seal=first_seal, last_seal=last_seal)
    plan = await anext(plans, None)
    task = asyncio.ensure_future(reader.event_rows(plan[1], plan[2])) if plan else None
    try:
        while plan is not None and task is not None:
            rows = await task
            current, plan = plan, await anext(plans, None)
            task = asyncio.ensure_future(reader.event_rows(plan[1], plan[2])) if plan else None
            # In slices, handing the loop a turn in between: the driver then keeps receiving
            # the next query's rows (PostgreSQL) while these are hashed.
            datas: list[bytes | None] = []
            for k in range(0, len(rows), _HASH_SLICE):
                datas += events_bytes_from_text(rows[k : k + _HASH_SLICE], then=leaf_hash)
                await asyncio.sleep(0)
            if None in datas:
                # Rows not in the form the fast path reads: read them typed, as
                # stored_batches does (once the connection is free).
                if task is not None:
                    await asyncio.wait([task])
                for k, data in enumerate(datas):
                    if data is None:
                        typed = await session.execute(
                            select(*_EVENT_SELECT).where(AuditEvent.seq == rows[k][0])
                        )
                        row = typed.first()  # gone meanwhile: then it is not there
                        datas[k] = leaf_hash(event_bytes(row._mapping)) if row is not None else None
            kept = [(row, data) for row, data in zip(rows, datas, strict=True) if data is not None]
            if len(kept) != len(rows):
                rows, datas = [r for r, _ in kept], [d for _, d in kept]
            seqs: list[int] = [row[0] for row in rows]
            leaves: list[Any] = [row[21] for row in rows]  # ints: leaf_index >= lo
            hashes = cast(list[bytes], datas)
            ranges, lo, hi = current
            for seal, lower, end in ranges:
                if lower == lo and end == hi:
                    yield seqs, leaves, hashes, seal
                elif lower >= end:
                    yield [], [], [], seal
                else:
                    a, b = bisect_left(leaves, lower), bisect_left(leaves, end)
                    yield seqs[a:b], leaves[a:b], hashes[a:b], seal
    finally:
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(BaseException):
                await task


async def verify_database(
    session: AsyncSession,
    public_keys: Mapping[str, Ed25519PublicKey],
    *,
    from_seq: int | None = None,
    to_seq: int | None = None,
    pinned: PinnedHead | None = None,
    progress: Callable[[int], None] | None = None,
) -> Report:
    """Verify the stored log (or the batches covering ``from_seq..to_seq``), streaming.
    ``pinned``: a seal the log must still hold with that hash (docs/audit.md, section 6)."""
    first_seal, last_seal = await _range_to_seals(session, from_seq, to_seq)
    anchor = await database_anchor(session)
    if first_seal is not None and (anchor is None or first_seal > anchor.seal_index + 1):
        previous = await _seal_at(session, first_seal - 1)
        if previous is not None:
            anchor = _seal_anchor(previous)
    verifier = Verifier(public_keys, anchor=anchor, pinned=pinned)
    reader = await _RawReader.open(session)
    if reader is not None:
        async for seqs, leaf_indexes, hashes, seal in _raw_batches(
            session, reader, first_seal=first_seal, last_seal=last_seal
        ):
            verifier.feed_hashed(seqs, leaf_indexes, hashes, seal)
            if progress is not None:
                progress(len(seqs))
    else:
        async for events, seal in stored_batches(
            session, first_seal=first_seal, last_seal=last_seal
        ):
            verifier.feed(events, seal)
            if progress is not None:
                progress(len(events))
    if last_seal is None and to_seq is None:
        orphans, unsealed = await trailing_events(session, verifier.next_leaf)
        return verifier.finish(orphans, unsealed=unsealed)
    if pinned is not None and not verifier.pinned_seen:
        # A range that does not hold the pinned seal: that seal is looked up on its own.
        stored = await _seal_at(session, pinned.seal_index)
        if stored is not None:
            verifier.check_pinned_seal(_seal_item(stored))
        else:
            newest = await session.scalar(select(func.max(AuditSeal.seal_index)))
            verifier.check_pinned(last_seal=newest if newest is not None else -1)
    return verifier.finish()


async def export_lines(
    session: AsyncSession,
    *,
    from_seq: int | None = None,
    to_seq: int | None = None,
    include_unsealed: bool = True,
) -> AsyncIterator[bytes]:
    """The JSONL export, streamed: a header (with the anchor), then each sealed batch's event
    lines followed by its seal line, then the unsealed events. ``verify --file`` reads it."""
    first_seal, last_seal = await _range_to_seals(session, from_seq, to_seq)
    anchor_row: dict[str, Any] | None = None
    archive = await session.scalar(
        select(AuditArchive).order_by(AuditArchive.last_seal.desc()).limit(1)
    )
    if first_seal is not None and (archive is None or first_seal > archive.last_seal + 1):
        previous = await _seal_at(session, first_seal - 1)
        if previous is not None:
            anchor_row = {
                "kind": "seal",
                "seal": seal_record(seal_mapping(previous), with_leaves=False),
            }
    elif archive is not None:
        anchor_row = archive_anchor_record(archive)
    yield header_line(anchor=anchor_row)
    async for seal, rows in _sealed_rows(
        session, first_seal=first_seal, last_seal=last_seal, cover_gaps=False
    ):
        yield b"".join(event_line(r._mapping) for r in rows)
        yield seal_line(seal_mapping(seal))
    if include_unsealed and last_seal is None and to_seq is None:
        last_seq = 0
        while True:
            page = list(
                await session.execute(
                    select(*_EVENT_SELECT)
                    .where(AuditEvent.leaf_index.is_(None), AuditEvent.seq > last_seq)
                    .order_by(AuditEvent.seq)
                    .limit(1000)
                )
            )
            if not page:
                break
            yield b"".join(event_line(r._mapping) for r in page)
            last_seq = page[-1]._mapping["seq"]


def seal_mapping(seal: AuditSeal) -> dict[str, Any]:
    return {
        "seal_index": seal.seal_index,
        "leaf_start": seal.leaf_start,
        "leaf_count": seal.leaf_count,
        "root": seal.root,
        "prev_hash": seal.prev_hash,
        "sealed_at": seal.sealed_at,
        "key_id": seal.key_id,
        "signature": seal.signature,
        "seal_hash": seal.seal_hash,
        "leaf_hashes": seal.leaf_hashes,
    }
