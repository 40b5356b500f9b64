"""A webhook receiver for the tests: a real HTTP server on loopback, in a thread. It keeps
every request it gets and answers each with the next scripted status (200 once the script
is used up)."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

import orjson


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)


@dataclass
class _State:
    script: deque[tuple[int, dict[str, str]]] = field(default_factory=deque)
    always: tuple[int, dict[str, str]] | None = None
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    released: threading.Event = field(default_factory=threading.Event)


class Receiver:
    def __init__(self) -> None:
        self._state = _State()
        state = self._state

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                with state.lock:
                    state.received.append(
                        Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                    )
                    if state.script:
                        status, headers = state.script.popleft()
                    else:
                        status, headers = state.always or (200, {})
                # A held receiver keeps its answer back until it is released.
                state.released.wait(timeout=30)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        state.released.set()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hooks"

    def answer(self, *statuses: int, headers: dict[str, str] | None = None) -> None:
        """Answer the next requests with these statuses, in order."""
        with self._state.lock:
            self._state.script.extend((s, headers or {}) for s in statuses)

    def answer_always(self, status: int | None) -> None:
        with self._state.lock:
            self._state.always = None if status is None else (status, {})

    def hold(self) -> None:
        """Keep every answer back (requests are still recorded as they arrive)."""
        self._state.released.clear()

    def release(self) -> None:
        self._state.released.set()

    @property
    def received(self) -> list[Received]:
        with self._state.lock:
            return list(self._state.received)

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
