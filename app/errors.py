"""One error envelope for the whole API: RFC 9457 problem+json with a stable ``code``.

Clients branch on ``code``; ``detail`` is for people. Every refusal in the hub raises a
:class:`HubError` (or lets FastAPI's own validation error through the handler below), so
no endpoint answers a bare 500 with a stack trace.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.db import format_exception_redacted
from app.responses import ProblemResponse

log = logging.getLogger("hub.errors")

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://declare-once.gov.vn/problems/"


class HubError(Exception):
    """A refusal with a stable code, an HTTP status and a human detail."""

    status: int = 400
    code: str = "bad_request"
    title: str = "Bad request"

    def __init__(
        self,
        detail: str,
        *,
        code: str | None = None,
        status: int | None = None,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.errors = errors
        self.headers = headers or {}
        self.extra = extra or {}


class BadRequest(HubError):
    status, code, title = 400, "bad_request", "Bad request"


class Unauthenticated(HubError):
    status, code, title = 401, "unauthenticated", "Authentication required"


class Forbidden(HubError):
    status, code, title = 403, "forbidden", "Forbidden"


class NotFound(HubError):
    status, code, title = 404, "not_found", "Not found"


class Conflict(HubError):
    status, code, title = 409, "conflict", "Conflict"


class PayloadTooLarge(HubError):
    status, code, title = 413, "payload_too_large", "Payload too large"


class Unprocessable(HubError):
    status, code, title = 422, "validation_failed", "Validation failed"


class BadGateway(HubError):
    status, code, title = 502, "source_unavailable", "Source system unavailable"


class ServiceUnavailable(HubError):
    status, code, title = 503, "service_unavailable", "Service unavailable"


class GatewayTimeout(HubError):
    status, code, title = 504, "source_timeout", "Source system timed out"


class MalformedJson(HubError):
    status, code, title = 400, "malformed_json", "Malformed JSON"


class InvalidCharacters(HubError):
    status, code, title = 400, "invalid_characters", "Control characters refused"


class TooDeep(HubError):
    status, code, title = 400, "too_deep", "Nested too deep"


class UnsupportedMediaType(HubError):
    status, code, title = 415, "unsupported_media_type", "Unsupported media type"


class MalformedRequest(HubError):
    """The HTTP server could not parse the request (a control character in a header...)."""

    status, code, title = 400, "malformed_request", "Malformed HTTP request"


class InternalError(HubError):
    status, code, title = 500, "internal_error", "Internal error"


class InvalidCursor(BadRequest):
    status, code, title = 400, "invalid_cursor", "Invalid cursor"


class MockControlForbidden(Forbidden):
    status, code, title = 403, "mock_control_loopback_only", "Mock controls are loopback-only"


_TITLES = {
    400: "Bad request",
    401: "Authentication required",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Validation failed",
    429: "Too many requests",
    500: "Internal error",
    502: "Bad gateway",
    503: "Service unavailable",
    504: "Gateway timeout",
}

_DEFAULT_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "rate_limited",
    500: "internal_error",
    503: "service_unavailable",
}


def request_id_of(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


def problem_body(
    *,
    status: int,
    code: str,
    detail: str,
    request_id: str | None,
    instance: str | None = None,
    title: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + code,
        "title": title or _TITLES.get(status, "Error"),
        "status": status,
        "code": code,
        "detail": detail,
        "instance": instance,
        "request_id": request_id,
    }
    if errors is not None:
        body["errors"] = errors
    if extra:
        body.update(extra)
    return body


def problem_response(
    request: Request,
    *,
    status: int,
    code: str,
    detail: str,
    title: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> ProblemResponse:
    body = problem_body(
        status=status,
        code=code,
        detail=detail,
        request_id=request_id_of(request),
        instance=request.url.path,
        title=title,
        errors=errors,
        extra=extra,
    )
    return ProblemResponse(body, status_code=status, headers=headers)


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for err in exc.errors():
        loc = [str(part) for part in err.get("loc", ())]
        out.append(
            {
                "path": "/" + "/".join(loc[1:]) if len(loc) > 1 else "/",
                "in": loc[0] if loc else "body",
                "code": f"request.{err.get('type', 'invalid')}",
                "message": err.get("msg", "invalid"),
            }
        )
    return out


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(HubError)
    async def _hub_error(request: Request, exc: HubError) -> ProblemResponse:
        return problem_response(
            request,
            status=exc.status,
            code=exc.code,
            detail=exc.detail,
            title=exc.title,
            errors=exc.errors,
            headers=exc.headers,
            extra=exc.extra,
        )

    @app.exception_handler(RequestValidationError)
    async def _request_invalid(request: Request, exc: RequestValidationError) -> ProblemResponse:
        return problem_response(
            request,
            status=422,
            code="request_invalid",
            detail="The request does not match the API's schema.",
            errors=_validation_errors(exc),
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> ProblemResponse:
        code = _DEFAULT_CODES.get(exc.status_code, "http_error")
        detail = exc.detail if isinstance(exc.detail, str) else _TITLES.get(exc.status_code, "")
        return problem_response(
            request,
            status=exc.status_code,
            code=code,
            detail=detail,
            headers=dict(exc.headers or {}),
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> ProblemResponse:
        # The route's template, not the path (which can hold a citizen ID), and no database
        # error's message (which can quote a value).
        route = getattr(request.scope.get("route"), "path", "(no route)")
        log.error(
            "unhandled error on %s %s\n%s", request.method, route, format_exception_redacted(exc)
        )
        return problem_response(
            request,
            status=500,
            code="internal_error",
            detail="An unexpected error occurred; the request id identifies it in the logs.",
        )


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries documenting the problem+json errors a route can give."""
    return {
        status: {
            "description": _TITLES.get(status, "Error"),
            "content": {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }
