"""Building a sealed access log in tests: settings that seal only when a test asks, one pull
event per call, and append-then-seal."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from app.audit.events import AuditEntry, EventKind, Outcome
from app.audit.service import AuditLog
from app.config import Settings


def sealing_on_demand(database_url: str, tmp_path: Path, *, batch: int = 10) -> Settings:
    """No background sealer; seals of ``batch`` events when the test calls the sealer."""
    return Settings(
        database_url=database_url,
        data_dir=tmp_path / "data",
        auth_cache_seconds=0.0,
        audit_sealer=False,
        audit_seal_max_events=batch,
    )


def pull_event(i: int) -> AuditEntry:
    return AuditEntry(
        kind=EventKind.DATA_PULL,
        outcome=Outcome.ALLOWED,
        client_id="client-1",
        officer_id=f"officer-{i}",
        record_type="Person",
        fields=["hoVaTen"],
        purpose="birth-registration",
        details={"n": i},
    )


async def append_and_seal(app: FastAPI, count: int) -> None:
    audit: AuditLog = app.state.hub.audit
    for i in range(count):
        await audit.append(pull_event(i))
    assert audit.sealer is not None
    await audit.sealer.prepare()
    await audit.sealer.seal_pending()
