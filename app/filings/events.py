"""The filings domain's one event: ``filing.changed``, recorded by the service that makes
the change, before the change is written (so on SQLite the access log, which needs the
database's one write lock, is never kept waiting on the request's own transaction)."""

from __future__ import annotations

from typing import Any

from app.events import AuditSink, EventKind
from app.filings.models import Filing
from app.security.actor import Actor, record


async def filing_changed(
    audit: AuditSink,
    actor: Actor,
    filing: Filing,
    action: str,
    *,
    status: str | None = None,
    fields: list[str] | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """One ``filing.changed`` event: names of fields only, never their values. ``status`` is
    the filing's status once the change is made (its current one by default)."""
    await record(
        audit,
        actor,
        EventKind.FILING_CHANGED,
        subject_id=filing.subject_id,
        fields=list(fields or []),
        purpose=filing.procedure,
        procedure=filing.procedure,
        filing_id=filing.id,
        details={"action": action, "status": status or filing.status, **(details or {})},
    )
