"""The access log's refusals, each with a stable code and status.

``AuditUnavailable`` (503 ``audit_unavailable``) lives in ``app.audit.events`` beside the sink
it belongs to.
"""

from __future__ import annotations

from app.errors import BadRequest

__all__ = ["UnloggableRequest"]


class UnloggableRequest(BadRequest):
    """The database refused this request's own access event (a value it cannot store).

    The other events of the same group commit are written; only this request fails, and it
    releases nothing, since an unlogged access must not happen."""

    status, code, title = 400, "unloggable_request", "The request cannot be logged"
