"""Verifying the stored access log, streaming: the raw reader where the driver allows it,
the typed reader otherwise."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.models import AuditSeal
from app.audit.verify.model import PinnedHead, Report
from app.audit.verify.raw import _raw_batches, _RawReader
from app.audit.verify.stored import (
    _range_to_seals,
    _seal_anchor,
    _seal_at,
    _seal_item,
    database_anchor,
    stored_batches,
    trailing_events,
)
from app.audit.verify.verifier import Verifier


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
