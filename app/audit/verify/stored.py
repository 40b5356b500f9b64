"""Reading the stored access log the typed way (ORM rows): anchors, the seals covering a range,
and each seal's batch of events. Every driver can take this path; the raw reader is faster."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.models import AuditArchive, AuditEvent, AuditSeal
from app.audit.serialize import EVENT_COLUMNS, event_bytes, seal_record
from app.audit.verify.model import SEAL_COLUMNS, Anchor, EventItem, SealItem, archive_anchor_record

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
    1,000), and the number of events not sealed yet.

    A sealer may run beside the check: a seal committed after the check read the seals
    gives positions to events the check then finds here. Those are sealed after the check
    began, not orphans: they count as not sealed yet (the next check verifies them)."""
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
    if orphans:
        sealed_since = await session.scalar(
            select(func.max(AuditSeal.leaf_start + AuditSeal.leaf_count)).where(
                AuditSeal.leaf_start >= leaf_end
            )
        )
        if sealed_since is not None:
            late = [e for e in orphans if e.leaf_index is not None and e.leaf_index < sealed_since]
            orphans = orphans[len(late) :]
            unsealed = (unsealed or 0) + len(late)
    return orphans, unsealed or 0


def seal_mapping(seal: AuditSeal) -> dict[str, Any]:
    return {column: getattr(seal, column) for column in SEAL_COLUMNS}
