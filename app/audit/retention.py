"""Retention: sealed batches older than the retention period move to JSONL archives.

Whole batches only, oldest first, with their seals, under the sealing lock. The archive file
is written and fsynced before the rows are deleted, in the same transaction that records the
archive (table ``audit_archives``). The last archived seal's hash is the anchor the first
remaining seal chains to, signed with the sealing key (so that cutting the oldest batches
cannot pass as an archive), and the remaining log still verifies; each archive file verifies on
its own with ``declare-once audit verify --file`` (its header carries the anchor before it).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.audit.models import AuditArchive, AuditEvent, AuditSeal
from app.audit.sealer import Sealer
from app.audit.serialize import (
    EVENT_COLUMNS,
    anchor_body_bytes,
    event_line,
    format_ts,
    header_line,
    seal_line,
)
from app.audit.verify import archive_anchor_record
from app.config import Settings
from app.timestamps import utcnow

ARCHIVE_DIR = "archive"


@dataclass(frozen=True)
class ArchiveResult:
    file: Path
    first_seal: int
    last_seal: int
    events: int
    last_seal_hash: str


async def _previous_anchor(conn: AsyncConnection) -> dict[str, Any] | None:
    row = (
        await conn.execute(select(AuditArchive).order_by(AuditArchive.last_seal.desc()).limit(1))
    ).first()
    return archive_anchor_record(row) if row is not None else None


async def archive_expired(
    sealer: Sealer,
    settings: Settings,
    *,
    older_than: timedelta | None = None,
    now: datetime | None = None,
    max_seals: int = 5_000,
) -> ArchiveResult | None:
    """Archive then delete the sealed batches sealed before ``now - older_than`` (the
    ``audit_retention_days`` setting by default). None when nothing is due."""
    if older_than is None:
        if settings.audit_retention_days is None:
            return None
        older_than = timedelta(days=settings.audit_retention_days)
    cutoff = format_ts((now or utcnow()) - older_than)
    async with sealer.locked() as conn:
        if conn is None:
            return None
        seals = list(
            (
                await conn.execute(
                    select(AuditSeal).order_by(AuditSeal.seal_index).limit(max_seals)
                )
            ).mappings()
        )
        due = []
        for seal in seals:
            if seal["sealed_at"] >= cutoff:
                break
            due.append(seal)
        if not due:
            return None
        first, last = due[0], due[-1]
        leaf_end = last["leaf_start"] + last["leaf_count"]
        key = await sealer.signing_key(conn)
        anchor = {
            "seal_index": last["seal_index"],
            "seal_hash": last["seal_hash"],
            "leaf_end": leaf_end,
            "signed_at": format_ts(utcnow()),
            "key_id": key.key_id,
        }
        anchor_signature = key.sign(anchor_body_bytes(anchor))
        folder = Path(settings.data_dir) / ARCHIVE_DIR
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"audit-seals-{first['seal_index']:010d}-{last['seal_index']:010d}.jsonl"
        digest = hashlib.sha256()
        events = 0
        columns = [getattr(AuditEvent, c) for c in EVENT_COLUMNS]
        tmp = path.with_suffix(".jsonl.tmp")
        with tmp.open("wb") as handle:

            def write(chunk: bytes) -> None:
                digest.update(chunk)
                handle.write(chunk)

            write(header_line(anchor=await _previous_anchor(conn)))
            for seal in due:
                rows = await conn.execute(
                    select(*columns, AuditEvent.leaf_index)
                    .where(
                        AuditEvent.leaf_index >= seal["leaf_start"],
                        AuditEvent.leaf_index < seal["leaf_start"] + seal["leaf_count"],
                    )
                    .order_by(AuditEvent.leaf_index, AuditEvent.seq)
                )
                lines = [event_line(r._mapping) for r in rows]
                events += len(lines)
                write(b"".join(lines))
                write(seal_line(seal))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        await conn.execute(
            delete(AuditEvent).where(
                AuditEvent.leaf_index.is_not(None), AuditEvent.leaf_index < leaf_end
            )
        )
        await conn.execute(delete(AuditSeal).where(AuditSeal.seal_index <= last["seal_index"]))
        await conn.execute(
            insert(AuditArchive).values(
                file=str(path),
                file_sha256=digest.hexdigest(),
                first_seal=first["seal_index"],
                last_seal=last["seal_index"],
                leaf_end=leaf_end,
                last_seal_hash=last["seal_hash"],
                events=events,
                created_at=utcnow(),
                anchor_signed_at=anchor["signed_at"],
                anchor_key_id=key.key_id,
                anchor_signature=anchor_signature,
            )
        )
    return ArchiveResult(path, first["seal_index"], last["seal_index"], events, last["seal_hash"])
