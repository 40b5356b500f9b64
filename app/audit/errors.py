"""The access log's refusals, each with a stable code and status.

The auditor's query refusals keep the title of their status, as before the
codes had classes.
"""

from __future__ import annotations

from app.errors import BadRequest, Conflict, ServiceUnavailable

__all__ = [
    "AuditUnavailable",
    "ConflictingSubjectFilters",
    "InvalidBoolean",
    "InvalidDatetime",
    "InvalidLimit",
    "InvalidOrder",
    "InvalidSubjectHmac",
    "InvalidTimeRange",
    "NotSealedYet",
    "UnknownExportFormat",
    "UnloggableRequest",
    "UnverifiableExport",
]


class AuditUnavailable(ServiceUnavailable):
    """The access log cannot make an event durable: the caller must not release data."""

    status, code, title = 503, "audit_unavailable", "Access log unavailable"


class UnloggableRequest(BadRequest):
    """The database refused this request's own access event (a value it cannot store).

    The other events of the same group commit are written; only this request fails, and it
    releases nothing, since an unlogged access must not happen."""

    status, code, title = 400, "unloggable_request", "The request cannot be logged"


class NotSealedYet(Conflict):
    status, code, title = 409, "not_sealed_yet", "Not sealed yet"


class InvalidDatetime(BadRequest):
    """`since` or `until` is not an ISO 8601 date or date-time."""

    code = "invalid_datetime"


class InvalidTimeRange(BadRequest):
    """`since` is not before `until`."""

    code = "invalid_time_range"


class InvalidLimit(BadRequest):
    """`limit` is not a whole number from 1 to the query's maximum."""

    code = "invalid_limit"


class InvalidOrder(BadRequest):
    """`order` is neither `asc` nor `desc`."""

    code = "invalid_order"


class InvalidSubjectHmac(BadRequest):
    """`subject_hmac` is not 64 hexadecimal characters."""

    code = "invalid_subject_hmac"


class ConflictingSubjectFilters(BadRequest):
    """`subject_id` (or `X-Subject-Id`) and `subject_hmac` name different subjects."""

    code = "conflicting_subject_filters"


class UnknownExportFormat(BadRequest):
    """`format` is neither `jsonl` nor `csv`."""

    code = "unknown_export_format"


class InvalidBoolean(BadRequest):
    """A yes-or-no parameter of the export is neither `true` nor `false`."""

    code = "invalid_boolean"


class UnverifiableExport(BadRequest):
    """``with_seals`` asked together with what a verifiable export cannot have."""

    code = "unverifiable_export"
