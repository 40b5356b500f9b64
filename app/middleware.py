"""The outermost ASGI layer: request ids, URL characters, body limits, metrics and the
last-resort 500.

It is plain ASGI rather than BaseHTTPMiddleware because it sits on the hot data path.

A body may be as large as ``max_body_bytes``. A route that declares ``LARGE_BODY`` in its
``openapi_extra`` (batch validation) accepts up to ``max_batch_body_bytes``, and only from an
authenticated caller: the limit is looked up on the matched route when the body is first
read, and a body over the ordinary limit is refused before a byte of it is read unless the
request's credential has already been verified.
"""

from __future__ import annotations

import itertools
import logging
import re
import secrets
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.db import format_exception_redacted
from app.errors import (
    HubError,
    InternalError,
    InvalidCharacters,
    PayloadTooLarge,
    Unauthenticated,
    problem_body,
)
from app.inputs import url_has_control_characters
from app.observability import HubMetrics
from app.responses import dumps
from app.routing import LARGE_BODY

log = logging.getLogger("hub.http")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
# A generated request id is this process's random prefix and a counter: 32 hex characters
# like a uuid4, unique across instances and restarts, without a system call per request.
_ID_PREFIX = secrets.token_hex(10)
_ID_COUNTER = itertools.count(1)


class RequestContextMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: HubMetrics,
        max_body_bytes: int,
        max_batch_body_bytes: int,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes
        self.max_batch_body_bytes = max_batch_body_bytes
        # Labelled children of the two metrics, kept: labels() takes a lock and builds a key.
        self._counted: dict[tuple[str, str, int], Any] = {}
        self._timed: dict[tuple[str, str], Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = self._request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        rid_header = (b"x-request-id", request_id.encode())
        status_holder = [500]
        response_started = False
        # Set when reading the body is refused. Frameworks turn an error raised while reading
        # the body into their own 400, so the response is replaced here instead.
        refused: list[HubError] = []
        swallowing = False

        async def send_wrapper(message: Message) -> None:
            nonlocal response_started, swallowing
            if swallowing:
                return
            if message["type"] == "http.response.start" and refused and not response_started:
                swallowing = True
                response_started = True
                status_holder[0] = refused[0].status
                await _send_problem(send, scope, request_id, refused[0], rid_header)
                return
            if message["type"] == "http.response.start":
                response_started = True
                status_holder[0] = message["status"]
                message["headers"] = [*message.get("headers", []), rid_header]
            await send(message)

        try:
            if url_has_control_characters(scope["path"], scope["query_string"]):
                raise InvalidCharacters(
                    "The URL holds a control character (U+0000 to U+001F or U+007F), "
                    "percent-encoded or not."
                )
            declared = _content_length(scope)
            if declared is not None and declared > self.max_batch_body_bytes:
                raise _too_large(self.max_batch_body_bytes, declared)
            limited = _LimitedBody(
                scope, receive, declared, self.max_body_bytes, self.max_batch_body_bytes, refused
            )
            await self.app(scope, limited.receive, send_wrapper)
        except HubError as exc:
            if not response_started:
                await _send_problem(send_wrapper, scope, request_id, exc)
        except Exception as exc:
            # No database error's message in the log: it can quote the value it refused.
            log.error(
                "unhandled error, request_id=%s\n%s", request_id, format_exception_redacted(exc)
            )
            if not response_started:
                await _send_problem(
                    send_wrapper,
                    scope,
                    request_id,
                    InternalError(
                        "An unexpected error occurred; the request id identifies it in the logs."
                    ),
                )
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "<unmatched>"
            self._observe(scope["method"], template, status_holder[0], started)

    def _observe(self, method: str, template: str, status: int, started: float) -> None:
        counted = self._counted.get((method, template, status))
        if counted is None:
            counted = self._counted[(method, template, status)] = self.metrics.requests.labels(
                method, template, str(status)
            )
        counted.inc()
        timed = self._timed.get((method, template))
        if timed is None:
            timed = self._timed[(method, template)] = self.metrics.latency.labels(method, template)
        timed.observe(time.perf_counter() - started)

    @staticmethod
    def _request_id(scope: Scope) -> str:
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                candidate = value.decode("latin-1")
                if _REQUEST_ID.match(candidate):
                    return candidate
                break
        return f"{_ID_PREFIX}{next(_ID_COUNTER):012x}"


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class _LimitedBody:
    """The request's ``receive``, refusing a body over the matched route's limit, and a body
    over the ordinary limit from a caller not yet authenticated, before reading it."""

    def __init__(
        self,
        scope: Scope,
        receive: Receive,
        declared: int | None,
        ordinary: int,
        large: int,
        refused: list[HubError],
    ) -> None:
        self.scope = scope
        self._receive = receive
        self.declared = declared or 0
        self.ordinary = ordinary
        self.large = large
        self.refused = refused
        self.seen = 0
        self.limit: int | None = None

    async def receive(self) -> Message:
        self._admit(max(self.seen, self.declared))
        message = await self._receive()
        if message["type"] == "http.request":
            self.seen += len(message.get("body", b""))
            self._admit(self.seen)
        return message

    def _admit(self, size: int) -> None:
        if size <= self.ordinary:
            return
        if self.limit is None:
            route = self.scope.get("route")
            extra = getattr(route, "openapi_extra", None) or {}
            large = extra.get("x-body-limit") == LARGE_BODY["x-body-limit"]
            self.limit = self.large if large else self.ordinary
        if size > self.limit:
            self._refuse(_too_large(self.limit, size))
        state = self.scope.get("state") or {}
        if state.get("principal") is None and state.get("citizen") is None:
            self._refuse(
                Unauthenticated(
                    f"A body over {self.ordinary} bytes is read only from an authenticated "
                    "caller; send `Authorization: Bearer <api key>`.",
                    headers={"WWW-Authenticate": "Bearer"},
                )
            )

    def _refuse(self, exc: HubError) -> None:
        self.refused.append(exc)
        raise exc


def _too_large(limit: int, size: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"The body is at least {size} bytes; the limit for this endpoint is {limit} bytes.",
        extra={"limit_bytes": limit},
    )


async def _send_problem(
    send: Send,
    scope: Scope,
    request_id: str,
    exc: HubError,
    *extra_headers: tuple[bytes, bytes],
) -> None:
    body: dict[str, Any] = problem_body(
        status=exc.status,
        code=exc.code,
        detail=exc.detail,
        request_id=request_id,
        instance=scope["path"],
        title=exc.title,
        extra=exc.extra,
    )
    payload = dumps(body)
    headers = [(name.lower().encode(), value.encode()) for name, value in exc.headers.items()]
    await send(
        {
            "type": "http.response.start",
            "status": exc.status,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(payload)).encode()),
                *headers,
                *extra_headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
