"""The outermost ASGI layer: request ids, body limits, metrics and the last-resort 500.

It is plain ASGI rather than BaseHTTPMiddleware because it sits on the hot data path.
"""

from __future__ import annotations

import itertools
import logging
import re
import secrets
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import PayloadTooLarge, problem_body
from app.observability import HubMetrics
from app.responses import dumps

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
        # Set when the streamed body passes the limit. Frameworks turn an error raised while
        # reading the body into their own 400, so the response is replaced here instead.
        over_limit: list[PayloadTooLarge] = []
        swallowing = False

        limit = (
            self.max_batch_body_bytes if scope["path"].endswith("/batch") else self.max_body_bytes
        )

        async def send_wrapper(message: Message) -> None:
            nonlocal response_started, swallowing
            if swallowing:
                return
            if message["type"] == "http.response.start" and over_limit and not response_started:
                swallowing = True
                response_started = True
                status_holder[0] = 413
                exc = over_limit[0]
                await _send_problem(send, scope, request_id, 413, exc.code, exc.detail, rid_header)
                return
            if message["type"] == "http.response.start":
                response_started = True
                status_holder[0] = message["status"]
                message["headers"] = [*message.get("headers", []), rid_header]
            await send(message)

        declared = _content_length(scope)
        try:
            if declared is not None and declared > limit:
                raise PayloadTooLarge(
                    f"The body is {declared} bytes; the limit for this endpoint is {limit} bytes.",
                    extra={"limit_bytes": limit},
                )
            await self.app(scope, _limited(receive, limit, over_limit), send_wrapper)
        except PayloadTooLarge as exc:
            if not response_started:
                await _send_problem(send_wrapper, scope, request_id, 413, exc.code, exc.detail)
        except Exception:
            log.exception("unhandled error, request_id=%s", request_id)
            if not response_started:
                await _send_problem(
                    send_wrapper,
                    scope,
                    request_id,
                    500,
                    "internal_error",
                    "An unexpected error occurred; the request id identifies it in the logs.",
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


def _limited(receive: Receive, limit: int, over_limit: list[PayloadTooLarge]) -> Receive:
    seen = 0

    async def wrapped() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                exc = PayloadTooLarge(
                    f"The body exceeds the limit for this endpoint ({limit} bytes).",
                    extra={"limit_bytes": limit},
                )
                over_limit.append(exc)
                raise exc
        return message

    return wrapped


async def _send_problem(
    send: Send,
    scope: Scope,
    request_id: str,
    status: int,
    code: str,
    detail: str,
    *extra_headers: tuple[bytes, bytes],
) -> None:
    body: dict[str, Any] = problem_body(
        status=status, code=code, detail=detail, request_id=request_id, instance=scope["path"]
    )
    payload = dumps(body)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(payload)).encode()),
                *extra_headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
