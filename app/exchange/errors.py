"""The data path's refusals, each with a stable code and status (docs/contracts.md section 7)."""

from __future__ import annotations

from app.errors import BadRequest, Forbidden
from app.headers import InvalidHeader, MissingUserId
from app.registry.errors import UnknownRecordType
from app.sources.errors import (
    NoSource,
    SourceInvalidRecord,
    SourceTimeout,
    SourceUnavailable,
    SubjectNotFound,
)

__all__ = [
    "AccessDenied",
    "InvalidHeader",
    "InvalidSubject",
    "MissingPurpose",
    "MissingUserId",
    "NoSource",
    "SourceInvalidRecord",
    "SourceTimeout",
    "SourceUnavailable",
    "SubjectNotFound",
    "UnknownField",
    "UnknownRecordType",
]


class MissingPurpose(BadRequest):
    status, code, title = 400, "missing_purpose", "X-Purpose is required"


class InvalidSubject(BadRequest):
    status, code, title = 400, "invalid_subject_id", "Invalid subject id"


class UnknownField(BadRequest):
    status, code, title = 400, "unknown_field", "Unknown field"


class AccessDenied(Forbidden):
    status, code, title = 403, "access_denied", "Access denied"
