"""The access-log verifier: a pure function over events, seals and public keys.

It recomputes every leaf hash, every batch root, every seal hash and signature and every chain
link, and reports each problem with a stable code and where it is. docs/audit.md describes the
same algorithm for independent verifiers."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterable, Mapping
from hashlib import sha256

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from app.audit.merkle import root_of, root_of_joined
from app.audit.serialize import GENESIS_HASH, anchor_body_bytes, format_ts, seal_body_bytes
from app.audit.verify.model import (
    Anchor,
    Code,
    EventItem,
    PinnedHead,
    Problem,
    Report,
    SealItem,
)


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
