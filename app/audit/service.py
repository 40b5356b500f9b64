"""Appending to the access log.

Each append is committed before it returns, so an acknowledged request always has its
event on disk. Sequence numbers are dense: a writer takes the next number inside its own
transaction, and a concurrent writer that took the same number retries.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.audit.events import AuditEntry, AuditUnavailable
from app.audit.models import AuditEvent
from app.config import Settings

MAX_ATTEMPTS = 20


def load_subject_key(settings: Settings) -> bytes:
    """The HMAC key for subjects: from settings, else a key file shared by the instances."""
    if settings.audit_hmac_key is not None:
        return settings.audit_hmac_key.get_secret_value().encode()
    path: Path = settings.data_dir / "audit-subject.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with path.open("x") as handle:
                handle.write(secrets.token_hex(32))
            path.chmod(0o600)
        except FileExistsError:
            pass
    return path.read_text().strip().encode()


def subject_hmac(key: bytes, citizen_id: str) -> str:
    return hmac.new(key, citizen_id.encode(), hashlib.sha256).hexdigest()


def mask_citizen_id(citizen_id: str) -> str:
    if len(citizen_id) <= 6:
        return "*" * len(citizen_id)
    return citizen_id[:4] + "*" * (len(citizen_id) - 6) + citizen_id[-2:]


class AuditLog:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], subject_key: bytes) -> None:
        self._sessionmaker = sessionmaker
        self._subject_key = subject_key
        self._lock = asyncio.Lock()

    def subject_hmac(self, citizen_id: str) -> str:
        return subject_hmac(self._subject_key, citizen_id)

    def _row(self, entry: AuditEntry, seq: int) -> AuditEvent:
        subject = entry.subject_id
        return AuditEvent(
            seq=seq,
            ts=datetime.now(UTC),
            kind=entry.kind,
            client_id=entry.client_id,
            agency=entry.agency,
            officer_id=entry.officer_id,
            case_id=entry.case_id,
            subject_hmac=self.subject_hmac(subject) if subject else None,
            subject_hint=mask_citizen_id(subject) if subject else None,
            record_type=entry.record_type,
            fields=list(entry.fields),
            purpose=entry.purpose,
            procedure=entry.procedure,
            filing_id=entry.filing_id,
            basis=entry.basis,
            outcome=entry.outcome,
            error_code=entry.error_code,
            request_id=entry.request_id,
            request_hash=entry.request_hash,
            response_hash=entry.response_hash,
            details=dict(entry.details),
        )

    async def append(self, entry: AuditEntry) -> int:
        async with self._lock:
            for _ in range(MAX_ATTEMPTS):
                try:
                    async with self._sessionmaker() as session:
                        last = await session.scalar(select(func.max(AuditEvent.seq)))
                        seq = (last or 0) + 1
                        session.add(self._row(entry, seq))
                        await session.commit()
                        return seq
                except IntegrityError:
                    continue
                except (OperationalError, OSError) as exc:
                    raise AuditUnavailable(
                        "The access log cannot be written; no data is released."
                    ) from exc
        raise AuditUnavailable("The access log is contended; no data is released.")
