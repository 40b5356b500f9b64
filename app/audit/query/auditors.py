"""Auditing auditors: every auditor request is itself an ``audit.query`` event."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.audit.events import AuditEntry, AuditSink, EventKind, Outcome
from app.security.roles import ClientPrincipal


async def record_auditor_query(
    audit: AuditSink,
    auditor: ClientPrincipal,
    action: str,
    details: Mapping[str, Any],
    *,
    officer_id: str | None = None,
    case_id: str | None = None,
    request_id: str | None = None,
) -> int:
    """Append the ``audit.query`` event for one auditor request; it is durable before the
    caller answers, or this raises ``AuditUnavailable`` and the auditor gets nothing.
    ``details`` must be free of clear citizen IDs (filters go in as
    :meth:`EventFilters.describe`, which holds the subject only as its HMAC)."""
    return await audit.append(
        AuditEntry(
            kind=EventKind.AUDIT_QUERY,
            outcome=Outcome.OK,
            client_id=auditor.client_id,
            agency=auditor.agency,
            officer_id=officer_id,
            case_id=case_id,
            request_id=request_id,
            details={"action": action, **details},
        )
    )
