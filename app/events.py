"""What the rest of the hub hands to the access log: one call, ``audit.append(event)``.

The data path, filings, consent and admin actions build an :class:`AuditEntry` from the
request's actor and append it with ``app.security.actor.record(hub.audit, actor, kind, ...)`` (the
hub's :class:`AuditSink`). The call returns only once the event is durable; if it cannot be
made durable it raises ``AuditUnavailable`` (``app.audit.errors``) and the caller must not release data. The entry carries the subject's citizen ID in clear only in
memory: the log stores its keyed HMAC and a masked hint, never the ID, and never field values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


class EventKind:
    DATA_PULL = "data.pull"
    FILING_PREFILL = "filing.prefill"
    FILING_CHANGED = "filing.changed"
    CLIENT_CREATED = "admin.client_created"
    KEY_ISSUED = "admin.key_issued"
    KEY_REVOKED = "admin.key_revoked"
    ACCESS_RIGHTS_CHANGED = "admin.access_rights_changed"
    PROCEDURE_GRANTS_CHANGED = "admin.procedure_grants_changed"
    DICTIONARY_PUBLISHED = "admin.dictionary_published"
    DICTIONARY_STATUS_CHANGED = "admin.dictionary_status_changed"
    DICTIONARY_COMPATIBILITY_CHANGED = "admin.dictionary_compatibility_changed"
    CONNECTOR_REGISTERED = "admin.connector_registered"
    CONNECTOR_CHANGED = "admin.connector_changed"
    CONNECTOR_DELETED = "admin.connector_deleted"
    DELIVERY_REPLAYED = "admin.delivery_replayed"
    # One attempt to send a record (or a correction request) to the system that holds it.
    DELIVERY_ATTEMPT = "delivery.attempt"
    # A subscription created, paused, resumed, replayed, re-keyed or deleted by its client.
    SUBSCRIPTION_CHANGED = "subscription.changed"
    # A subscriber told that a record about a subject changed (a webhook sent, or a pull feed
    # page served): which record type and fields, never the values.
    SUBSCRIPTION_NOTIFIED = "subscription.notified"
    CONSENT_CHANGED = "consent.changed"
    AUDIT_QUERY = "audit.query"


class Outcome:
    ALLOWED = "allowed"
    DENIED = "denied"
    ERROR = "error"
    OK = "ok"
    # A refusal of a malformed request (unknown record type or field, bad header or subject):
    # the event keeps no text the dictionary does not name.
    INVALID_REQUEST = "invalid_request"


@dataclass(slots=True)
class AuditEntry:
    kind: str
    outcome: str
    client_id: str | None = None
    agency: str | None = None
    officer_id: str | None = None
    case_id: str | None = None
    subject_id: str | None = None
    record_type: str | None = None
    fields: list[str] = field(default_factory=list)
    purpose: str | None = None
    procedure: str | None = None
    filing_id: str | None = None
    basis: str | None = None
    error_code: str | None = None
    request_id: str | None = None
    request_hash: str | None = None
    response_hash: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


class AuditSink(Protocol):
    async def append(self, entry: AuditEntry) -> int:
        """Make the entry durable and return its sequence number."""
        ...
