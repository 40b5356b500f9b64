"""The HTTP protocol class ``declare-once serve`` gives uvicorn.

A request the HTTP parser cannot read (a control character in a header, a broken request
line) never reaches the application; uvicorn answers it itself, in plain text. This
subclass answers it as a Problem document like every other refusal, with the code
``malformed_request``.

``serve`` runs httptools (llhttp) only: it refuses every control character but tab in a
header value, where h11 lets U+0001 to U+001F and U+007F through to the application.
"""

from __future__ import annotations

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from app.errors import MalformedRequest, problem_body
from app.responses import dumps

_DETAIL = "The HTTP request could not be parsed (a control character in a header, for example)."


def _problem() -> bytes:
    return dumps(
        problem_body(
            status=MalformedRequest.status,
            code=MalformedRequest.code,
            title=MalformedRequest.title,
            detail=_DETAIL,
            request_id=None,
        )
    )


def _headers(body: bytes) -> list[tuple[bytes, bytes]]:
    return [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(body)).encode("ascii")),
        (b"connection", b"close"),
    ]


class ProblemHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's default protocol (``uvicorn[standard]`` installs httptools)."""

    def send_400_response(self, msg: str) -> None:
        body = _problem()
        head = [b"HTTP/1.1 400 Bad Request\r\n"]
        for name, value in [*self.server_state.default_headers, *_headers(body)]:
            head.append(name + b": " + value + b"\r\n")
        self.transport.write(b"".join([*head, b"\r\n", body]))
        self.transport.close()
