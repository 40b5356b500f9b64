"""Writing the JSONL export of the access log from the database (``GET /v1/audit/export`` and
``declare-once audit export``); ``verify --file`` reads it back (jsonl.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.models import AuditArchive, AuditEvent
from app.audit.serialize import event_line, header_line, seal_line, seal_record
from app.audit.verify.model import archive_anchor_record
from app.audit.verify.stored import (
    _EVENT_SELECT,
    _range_to_seals,
    _seal_at,
    _sealed_rows,
    seal_mapping,
)


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
