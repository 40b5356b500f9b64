"""The dictionary registry's refusals, each with a stable code and status (docs/contracts.md)."""

from __future__ import annotations

from app.errors import BadRequest, Conflict, NotFound, Unprocessable


class InvalidStatusTransition(Conflict):
    """Versions move draft -> published -> deprecated, one step at a time, never back."""

    status, code, title = 409, "invalid_status_transition", "Invalid status transition"


class IncompatibleVersion(Conflict):
    status, code, title = 409, "incompatible_version", "Incompatible version"


# The titles are those of the status (the problem documents have always said "Not found"...).


class UnknownElement(NotFound):
    status, code, title = 404, "unknown_element", "Not found"


class UnknownRecordType(NotFound):
    """The dictionary has no such record type: on the registry's routes and the data path."""

    status, code, title = 404, "unknown_record_type", "Unknown record type"


class UnknownVersion(NotFound):
    """Of a record type or of a code list."""

    status, code, title = 404, "unknown_version", "Not found"


class UnknownCodelist(NotFound):
    status, code, title = 404, "unknown_codelist", "Not found"


class CodelistNotInForce(NotFound):
    status, code, title = 404, "codelist_not_in_force", "Not found"


class UnknownCode(NotFound):
    status, code, title = 404, "unknown_code", "Not found"


class InvalidDate(BadRequest):
    status, code, title = 400, "invalid_date", "Bad request"


class InvalidCrosswalk(BadRequest):
    status, code, title = 400, "invalid_crosswalk", "Bad request"


class BodyNotObject(BadRequest):
    status, code, title = 400, "body_not_object", "Bad request"


class BatchNotArray(BadRequest):
    status, code, title = 400, "batch_not_array", "Bad request"


class MalformedNdjson(BadRequest):
    status, code, title = 400, "malformed_ndjson", "Bad request"


class InvalidRecordVersion(Unprocessable):
    status, code, title = 422, "invalid_record_version", "Validation failed"


class VersionConflict(Conflict):
    status, code, title = 409, "version_conflict", "Conflict"
