"""Transitional: the old recorder of administrative actions, kept only while the registry and
sources routers still call it. New code records with ``app.actor.record(hub.audit, actor,
kind, ...)`` from an ``AdminActor`` or ``IntegratorActor``; delete this module once nothing
imports it."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from app.audit.events import AuditEntry, Outcome
from app.errors import request_id_of
from app.headers import officer_and_case
from app.hub import hub_of
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
    return await hub_of(request.app).audit.append(
        AuditEntry(
            kind=kind,
            outcome=Outcome.OK,
            client_id=principal.client_id,
            agency=principal.agency,
            officer_id=officer,
            case_id=case,
            record_type=record_type,
            request_id=request_id_of(request),
            details=details or {},
        )
    )
