"""Connector errors. Each has a stable ``code`` (what the hub answers with) and a ``kind``
(what the statistics count); see docs/contracts.md section 5.

Only failures that say the source is down or broken (``timeout``, ``unavailable``,
``malformed``) are ``retryable``; they are also the ones the circuit breaker counts.
"""

from __future__ import annotations

from typing import Any


class ConnectorError(Exception):
    code = "source_unavailable"
    kind = "unavailable"
    retryable = False

    def __init__(self, detail: str, *, system: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.system = system

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "kind": self.kind, "detail": self.detail}


class SubjectNotFound(ConnectorError):
    code = "subject_not_found"
    kind = "not_found"


class SourceUnavailable(ConnectorError):
    """The source is down: it refused the connection or answered 5xx."""

    code = "source_unavailable"
    kind = "unavailable"
    retryable = True

    def __init__(self, detail: str, *, system: str | None = None, status: int | None = None):
        super().__init__(detail, system=system)
        self.status = status


class SourceMalformed(SourceUnavailable):
    """A body that is not JSON or not the envelope the mapping declares: a broken response,
    treated like a 5xx (retried for GET, counted by the breaker), not as an invalid record."""

    kind = "malformed"


class SourceAuthFailed(SourceUnavailable):
    """The source refused the hub's credentials (401/403, or the token endpoint said no)."""

    kind = "auth"
    retryable = False


class SourceRejected(SourceUnavailable):
    """The source refused the request itself (a 4xx other than not-found and auth)."""

    kind = "rejected"
    retryable = False


class SourceTimeout(ConnectorError):
    code = "source_timeout"
    kind = "timeout"
    retryable = True


class BreakerOpen(SourceUnavailable):
    """The circuit breaker is open: the call failed fast without reaching the source."""

    kind = "breaker_open"
    retryable = False

    def __init__(self, retry_after: float, *, system: str | None = None) -> None:
        super().__init__(
            f"circuit breaker open; retry after {retry_after:.1f} s", system=system, status=None
        )
        self.retry_after = retry_after

    def as_dict(self) -> dict[str, Any]:
        return {**super().as_dict(), "retry_after": round(self.retry_after, 3)}


class SourceInvalidRecord(ConnectorError):
    """A record that does not map or does not validate against its record version.

    ``issues``: one dict per problem, {path, element, code, message, record, reference}
    where ``record`` is the index of the record in the source's answer.
    """

    code = "source_invalid_record"
    kind = "invalid"

    def __init__(
        self, issues: list[dict[str, Any]], *, record_type: str, system: str | None = None
    ) -> None:
        shown = "; ".join(f"{i['path'] or '/'} {i['code']}" for i in issues[:5])
        more = f" (and {len(issues) - 5} more)" if len(issues) > 5 else ""
        super().__init__(
            f"{record_type} record from the source is invalid: {shown}{more}", system=system
        )
        self.issues = issues
        self.record_type = record_type

    def as_dict(self) -> dict[str, Any]:
        return {**super().as_dict(), "issues": self.issues}
