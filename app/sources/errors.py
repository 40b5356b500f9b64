"""What a source's failure becomes at the hub's edge: a stable code, never a bare 500."""

from __future__ import annotations

from app.errors import (
    BadGateway,
    Conflict,
    GatewayTimeout,
    NotFound,
    ServiceUnavailable,
    Unprocessable,
)


class SubjectNotFound(NotFound):
    status, code, title = 404, "subject_not_found", "Subject not found"


class NoSource(ServiceUnavailable):
    status, code, title = 503, "no_source", "No connector serves this record type"


class SourceUnavailable(BadGateway):
    """``source_unavailable`` (502), as :class:`app.errors.BadGateway` defines it."""


class SourceTimeout(GatewayTimeout):
    """``source_timeout`` (504), as :class:`app.errors.GatewayTimeout` defines it."""


class SourceInvalidRecord(BadGateway):
    status, code, title = 502, "source_invalid_record", "The source sent an invalid record"


class InvalidMapping(Unprocessable):
    status, code, title = 422, "invalid_mapping", "Invalid mapping"


# The connectors API's refusals; their titles are those of the status.


class ConnectorNotFound(NotFound):
    status, code, title = 404, "connector_not_found", "Not found"


class NotServed(NotFound):
    """The connector does not serve the record type asked for."""

    status, code, title = 404, "not_served", "Not found"


class ConnectorExists(Conflict):
    status, code, title = 409, "connector_exists", "Conflict"


class NotSampleable(Conflict):
    """No mapping of the connector declares how to list the source's subjects."""

    status, code, title = 409, "not_sampleable", "Conflict"
