"""Recording administrative actions (clients, keys, rights, dictionary, connectors)."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from app.audit.events import AuditEntry, Outcome
from app.security.roles import ClientPrincipal


async def record_admin_action(
    request: Request,
    principal: ClientPrincipal,
    kind: str,
    *,
    record_type: str | None = None,
    details: dict[str, Any] | None = None,
) -> int:
    """Append one administrative event; it is durable before the caller answers."""
    seq: int = await request.app.state.audit.append(
        AuditEntry(
            kind=kind,
            outcome=Outcome.OK,
            client_id=principal.client_id,
            agency=principal.agency,
            officer_id=request.headers.get("x-user-id"),
            case_id=request.headers.get("x-case-id"),
            record_type=record_type,
            request_id=getattr(request.state, "request_id", None),
            details=details or {},
        )
    )
    return seq
