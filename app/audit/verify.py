"""Verifying the access log: a pure function over events, seals and public keys.

The verifier recomputes every leaf hash, every batch root, every seal hash and signature and
every chain link, and reports each problem with a stable code and where it is: the event's
``seq`` (its id), its ``leaf_index`` (its position in the chain) and the ``seal_index``.
Readers feed it from the database (``verify_database``, streaming seal by seal) or from a
JSONL export (``iter_jsonl``); ``export_lines`` writes that JSONL. docs/audit.md describes the
same algorithm for independent verifiers.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from hashlib import sha256
from typing import IO, Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.merkle import root_of
from app.audit.models import AuditArchive, AuditEvent, AuditSeal
from app.audit.serialize import (
    EVENT_COLUMNS,
    FORMAT,
    GENESIS_HASH,
    canonical_json,
    event_bytes,
    event_line,
    header_line,
    seal_body_bytes,
    seal_line,
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
    MALFORMED = "malformed"


@dataclass(slots=True)
class EventItem:
    """One event as the verifier sees it: its id, its chain position and its leaf bytes."""

    seq: int
    leaf_index: int | None
    data: bytes


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
    """Where verification starts: the last seal before the verified range."""

    seal_index: int
    seal_hash: str
    leaf_end: int


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
            "anchor": (
                {
                    "seal_index": self.anchor.seal_index,
                    "seal_hash": self.anchor.seal_hash,
                    "leaf_end": self.anchor.leaf_end,
                }
                if self.anchor
                else None
            ),
            "head": self.head,
        }


def _leaf(data: bytes) -> bytes:
    return sha256(b"\x00" + data).digest()


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
        max_problems: int = 100,
    ) -> None:
        self._keys = public_keys
        self.report = Report(anchor=anchor)
        self._max = max_problems
        self._next_index = anchor.seal_index + 1 if anchor else 0
        self._next_leaf = anchor.leaf_end if anchor else 0
        self._prev_hash = anchor.seal_hash if anchor else GENESIS_HASH

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
        start, count = seal.leaf_start, seal.leaf_count
        orphans = [e for e in events if e.leaf_index is not None and e.leaf_index < start]
        linked = True
        if seal.seal_index != self._next_index or start != self._next_leaf:
            linked = False
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
        elif orphans:
            self._problem(
                Problem(
                    Code.EVENT_INSERTED,
                    "event positioned before its batch",
                    seq=orphans[0].seq,
                    leaf_index=orphans[0].leaf_index,
                    seal_index=seal.seal_index,
                )
            )
        if orphans:
            events = [e for e in events if e.leaf_index is None or e.leaf_index >= start]
        batch_ok = self._check_seal(seal, events, linked)
        if batch_ok:
            self._check_events(events, seal)
        body = seal.body()
        self._prev_hash = sha256(seal_body_bytes(body)).hexdigest()
        self._next_index = seal.seal_index + 1
        self._next_leaf = start + count
        report.head = {
            "seal_index": seal.seal_index,
            "seal_hash": self._prev_hash,
            "leaf_end": self._next_leaf,
            "sealed_at": seal.sealed_at,
        }

    def _first_seq(self, events: list[EventItem]) -> int | None:
        return events[0].seq if events else None

    def _check_seal(self, seal: SealItem, events: list[EventItem], linked: bool) -> bool:
        """Seal-level checks; False when the batch's expected leaf hashes are unusable."""
        where = {"seq": self._first_seq(events), "seal_index": seal.seal_index}
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
        else:
            try:
                key.verify(base64.b64decode(seal.signature, validate=True), body_bytes)
            except (InvalidSignature, binascii.Error, ValueError):
                self._problem(
                    Problem(
                        Code.BAD_SIGNATURE,
                        f"seal {seal.seal_index}'s signature does not verify under key "
                        f"{seal.key_id}",
                        leaf_index=seal.leaf_start,
                        **where,
                    )
                )
        stored = seal.leaf_hashes
        if (
            stored is not None
            and len(stored) == 32 * seal.leaf_count
            and root_of([stored[i : i + 32] for i in range(0, len(stored), 32)]).hex() == seal.root
        ):
            return True
        # The per-leaf hashes are missing or not those of the signed root: check the root
        # against the events themselves; the batch can be named but not the exact event.
        computed = root_of([_leaf(e.data) for e in events]).hex()
        if computed != seal.root or len(events) != seal.leaf_count:
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
            and b"".join([sha256(b"\x00" + e.data).digest() for e in events]) == stored
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
            h = _leaf(event.data)
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
        next_hash = _leaf(events[j + 1].data) if j + 1 < len(events) else None
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


def verify_log(
    batches: Iterable[tuple[list[EventItem], SealItem]],
    public_keys: Mapping[str, Ed25519PublicKey],
    *,
    anchor: Anchor | None = None,
    trailing: Iterable[EventItem] = (),
    progress: Callable[[int], None] | None = None,
) -> Report:
    """Verify a log given as batches (events, seal) in chain order. Pure: no I/O."""
    verifier = Verifier(public_keys, anchor=anchor)
    for events, seal in batches:
        verifier.feed(events, seal)
        if progress is not None:
            progress(len(events))
    return verifier.finish(trailing)


# --- JSONL -----------------------------------------------------------------------------------


def _event_from_line(obj: dict[str, Any]) -> EventItem:
    obj.pop("type", None)
    leaf_index = obj.pop("leaf_index", None)
    return EventItem(int(obj["seq"]), leaf_index, canonical_json(obj))


class JsonlLog:
    """Reads an export: header, then event lines, each batch followed by its seal line."""

    def __init__(self, handle: IO[bytes]) -> None:
        self._handle = handle
        self.anchor: Anchor | None = None
        self.trailing: list[EventItem] = []
        self.bytes_read = 0

    def batches(self) -> Iterator[tuple[list[EventItem], SealItem]]:
        pending: list[EventItem] = []
        loads = orjson.loads
        for line_no, line in enumerate(self._handle, start=1):
            self.bytes_read += len(line)
            if not line.strip():
                continue
            obj = loads(line)
            kind = obj.get("type")
            if kind == "event":
                pending.append(_event_from_line(obj))
            elif kind == "seal":
                pending.sort(key=lambda e: (e.leaf_index is None, e.leaf_index or 0, e.seq))
                yield pending, SealItem.from_mapping(obj)
                pending = []
            elif kind == "header":
                if obj.get("format") != FORMAT:
                    raise ValueError(f"line {line_no}: unknown format {obj.get('format')!r}")
                if obj.get("anchor"):
                    a = obj["anchor"]
                    self.anchor = Anchor(int(a["seal_index"]), a["seal_hash"], int(a["leaf_end"]))
            else:
                raise ValueError(f"line {line_no}: unknown line type {kind!r}")
        self.trailing = pending


def verify_jsonl(
    handle: IO[bytes],
    public_keys: Mapping[str, Ed25519PublicKey],
    *,
    progress: Callable[[int], None] | None = None,
) -> Report:
    log = JsonlLog(handle)
    verifier: Verifier | None = None
    for events, seal in log.batches():
        if verifier is None:
            verifier = Verifier(public_keys, anchor=log.anchor)
        verifier.feed(events, seal)
        if progress is not None:
            progress(log.bytes_read)
    if verifier is None:
        verifier = Verifier(public_keys, anchor=log.anchor)
    return verifier.finish(log.trailing)


# --- the database ------------------------------------------------------------------------------

_EVENT_SELECT = [*(getattr(AuditEvent, c) for c in EVENT_COLUMNS), AuditEvent.leaf_index]


def _event_item(row: Any) -> EventItem:
    m = row._mapping
    return EventItem(m["seq"], m["leaf_index"], event_bytes(m))


async def database_anchor(session: AsyncSession) -> Anchor | None:
    """The anchor left by retention: the last archived seal, if any."""
    archive = await session.scalar(
        select(AuditArchive).order_by(AuditArchive.last_seal.desc()).limit(1)
    )
    if archive is None:
        return None
    return Anchor(archive.last_seal, archive.last_seal_hash, archive.leaf_end)


async def _seal_at(session: AsyncSession, seal_index: int) -> AuditSeal | None:
    return await session.get(AuditSeal, seal_index)


async def _range_to_seals(
    session: AsyncSession, from_seq: int | None, to_seq: int | None
) -> tuple[int | None, int | None]:
    """Seal indexes covering the sealed events with ``from_seq <= seq <= to_seq``."""
    first_seal = last_seal = None
    if from_seq is not None:
        leaf = await session.scalar(
            select(func.min(AuditEvent.leaf_index)).where(
                AuditEvent.seq >= from_seq, AuditEvent.leaf_index.is_not(None)
            )
        )
        if leaf is not None:
            first_seal = await session.scalar(
                select(AuditSeal.seal_index)
                .where(AuditSeal.leaf_start <= leaf)
                .order_by(AuditSeal.seal_index.desc())
                .limit(1)
            )
    if to_seq is not None:
        leaf = await session.scalar(
            select(func.max(AuditEvent.leaf_index)).where(
                AuditEvent.seq <= to_seq, AuditEvent.leaf_index.is_not(None)
            )
        )
        if leaf is not None:
            last_seal = await session.scalar(
                select(AuditSeal.seal_index)
                .where(AuditSeal.leaf_start <= leaf)
                .order_by(AuditSeal.seal_index.desc())
                .limit(1)
            )
        else:
            last_seal = -1
    return first_seal, last_seal


def _seal_item(seal: AuditSeal) -> SealItem:
    return SealItem(
        seal_index=seal.seal_index,
        leaf_start=seal.leaf_start,
        leaf_count=seal.leaf_count,
        root=seal.root,
        prev_hash=seal.prev_hash,
        sealed_at=seal.sealed_at,
        key_id=seal.key_id,
        signature=seal.signature,
        seal_hash=seal.seal_hash,
        leaf_hashes=bytes(seal.leaf_hashes),
    )


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


async def verify_database(
    session: AsyncSession,
    public_keys: Mapping[str, Ed25519PublicKey],
    *,
    from_seq: int | None = None,
    to_seq: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> Report:
    """Verify the stored log (or the batches covering ``from_seq..to_seq``), streaming."""
    first_seal, last_seal = await _range_to_seals(session, from_seq, to_seq)
    anchor = await database_anchor(session)
    if first_seal is not None and (anchor is None or first_seal > anchor.seal_index + 1):
        previous = await _seal_at(session, first_seal - 1)
        if previous is not None:
            anchor = Anchor(
                previous.seal_index,
                previous.seal_hash,
                previous.leaf_start + previous.leaf_count,
            )
            # The range's anchor is only as good as that seal's own signature.
            check = Verifier(public_keys)
            check._check_seal(_seal_item(previous), [], linked=False)
            bad = [p for p in check.report.problems if p.code != Code.ROOT_MISMATCH]
            if bad:
                report = Report(ok=False, problems=bad, anchor=anchor)
                return report
    verifier = Verifier(public_keys, anchor=anchor)
    async for events, seal in stored_batches(session, first_seal=first_seal, last_seal=last_seal):
        verifier.feed(events, seal)
        if progress is not None:
            progress(len(events))
    if last_seal is None and to_seq is None:
        orphans, unsealed = await trailing_events(session, verifier.next_leaf)
        return verifier.finish(orphans, unsealed=unsealed)
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
    archived = await database_anchor(session)
    if first_seal is not None and (archived is None or first_seal > archived.seal_index + 1):
        previous = await _seal_at(session, first_seal - 1)
        if previous is not None:
            anchor_row = {
                "seal_index": previous.seal_index,
                "seal_hash": previous.seal_hash,
                "leaf_end": previous.leaf_start + previous.leaf_count,
            }
    elif archived is not None:
        anchor_row = {
            "seal_index": archived.seal_index,
            "seal_hash": archived.seal_hash,
            "leaf_end": archived.leaf_end,
        }
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
