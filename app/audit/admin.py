"""Recording administrative actions (clients, keys, rights, dictionary, connectors)."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from app.audit.events import AuditEntry, Outcome
from app.headers import officer_and_case
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
    officer, case = officer_and_case(request.headers)
    seq: int = await request.app.state.audit.append(
        AuditEntry(
            kind=kind,
            outcome=Outcome.OK,
            client_id=principal.client_id,
            agency=principal.agency,
            officer_id=officer,
            case_id=case,
            record_type=record_type,
            request_id=getattr(request.state, "request_id", None),
            details=details or {},
        )
    )
    return seq
