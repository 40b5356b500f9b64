"""A lean HTTP/1.1 keep-alive transport for the connectors' httpx client.

httpx's default pool (httpcore over anyio) spends milliseconds of CPU per request once a
few dozen requests share it, which would make the hub, not the source, the bottleneck of
the data path. This transport keeps idle connections in a plain list per origin and reads
responses with asyncio streams. It speaks what source systems speak: HTTP/1.1 with
Content-Length, chunked or close-delimited bodies, over TCP or TLS. Errors are httpx's own
exceptions, so the connector classifies them as it does for the default transport.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

import httpx

_MAX_HEAD = 64 * 1024
_MAX_BODY = 64 * 1024 * 1024
_MAX_IDLE = 256


class _Connection:
    __slots__ = ("reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    def close(self) -> None:
        self.writer.close()


class LeanTransport(httpx.AsyncBaseTransport):
    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        self._idle: dict[tuple[str, str, int], list[_Connection]] = {}
        self._ssl = ssl_context
        self._closed = False

    def _ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = ssl.create_default_context()
        return self._ssl

    async def _open(
        self, origin: tuple[str, str, int], connect_timeout: float | None
    ) -> _Connection:
        scheme, host, port = origin
        try:
            async with asyncio.timeout(connect_timeout):
                reader, writer = await asyncio.open_connection(
                    host,
                    port,
                    ssl=self._ssl_context() if scheme == "https" else None,
                    limit=_MAX_HEAD,
                )
        except TimeoutError as exc:
            raise httpx.ConnectTimeout(f"connect to {host}:{port} timed out") from exc
        except OSError as exc:
            raise httpx.ConnectError(f"cannot connect to {host}:{port}: {exc}") from exc
        return _Connection(reader, writer)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        scheme = url.scheme
        port = url.port or (443 if scheme == "https" else 80)
        origin = (scheme, url.host, port)
        timeouts: dict[str, Any] = request.extensions.get("timeout", {})
        body = await request.aread()
        head = self._head(request, body)
        idle = self._idle.get(origin)
        reused = bool(idle)
        connection = idle.pop() if idle else await self._open(origin, timeouts.get("connect"))
        try:
            try:
                return await self._exchange(connection, origin, request, head + body, timeouts)
            except (ConnectionError, asyncio.IncompleteReadError, httpx.RemoteProtocolError):
                if not reused:
                    raise
            # The source closed a kept-alive connection: one more go on a fresh one.
            connection.close()
            connection = await self._open(origin, timeouts.get("connect"))
            return await self._exchange(connection, origin, request, head + body, timeouts)
        except TimeoutError as exc:
            connection.close()
            raise httpx.ReadTimeout("the source did not answer in time", request=request) from exc
        except (
            ConnectionError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            ValueError,  # a Content-Length or chunk size that is not a number
        ) as exc:
            connection.close()
            raise httpx.RemoteProtocolError(
                f"the connection broke: {type(exc).__name__}", request=request
            ) from exc
        except BaseException:
            connection.close()
            raise

    @staticmethod
    def _head(request: httpx.Request, body: bytes) -> bytes:
        url = request.url
        lines = [b"%s %s HTTP/1.1" % (request.method.encode(), url.raw_path)]
        has_length = False
        for name, value in request.headers.raw:
            lower = name.lower()
            if lower in (b"accept-encoding", b"transfer-encoding", b"connection"):
                continue
            if lower == b"content-length":
                has_length = True
            lines.append(name + b": " + value)
        if body and not has_length:
            lines.append(b"Content-Length: %d" % len(body))
        lines.append(b"Accept-Encoding: identity")
        return b"\r\n".join(lines) + b"\r\n\r\n"

    async def _exchange(
        self,
        connection: _Connection,
        origin: tuple[str, str, int],
        request: httpx.Request,
        payload: bytes,
        timeouts: dict[str, Any],
    ) -> httpx.Response:
        connection.writer.write(payload)
        async with asyncio.timeout(timeouts.get("read")):
            await connection.writer.drain()
            reader = connection.reader
            head = await reader.readuntil(b"\r\n\r\n")
            status_line, *header_lines = head[:-4].split(b"\r\n")
            parts = status_line.split(b" ", 2)
            if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
                raise httpx.RemoteProtocolError("not an HTTP/1.1 response", request=request)
            status = int(parts[1])
            headers: list[tuple[bytes, bytes]] = []
            length: int | None = None
            chunked = False
            keep_alive = parts[0] == b"HTTP/1.1"
            for line in header_lines:
                name, _, value = line.partition(b":")
                value = value.strip()
                lower = name.strip().lower()
                headers.append((name.strip(), value))
                if lower == b"content-length":
                    length = int(value)
                elif lower == b"transfer-encoding" and b"chunked" in value.lower():
                    chunked = True
                elif lower == b"connection":
                    keep_alive = value.lower() == b"keep-alive" or (
                        keep_alive and value.lower() != b"close"
                    )
            if request.method == "HEAD" or status in (204, 304) or 100 <= status < 200:
                content = b""
            elif chunked:
                content = await self._chunked(reader)
            elif length is not None:
                if length > _MAX_BODY:
                    raise httpx.RemoteProtocolError("response body too large", request=request)
                content = await reader.readexactly(length)
            else:
                content = await reader.read(_MAX_BODY)
                keep_alive = False
        if keep_alive and not self._closed:
            pool = self._idle.setdefault(origin, [])
            if len(pool) < _MAX_IDLE:
                pool.append(connection)
            else:
                connection.close()
        else:
            connection.close()
        return httpx.Response(
            status,
            headers=[(n, v) for n, v in headers if n.lower() != b"transfer-encoding"],
            content=content,
            request=request,
            extensions={"http_version": b"HTTP/1.1"},
        )

    @staticmethod
    async def _chunked(reader: asyncio.StreamReader) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                # Trailers, if any, end with an empty line.
                while (await reader.readuntil(b"\r\n")) != b"\r\n":
                    pass
                return b"".join(chunks)
            total += size
            if total > _MAX_BODY:
                raise asyncio.LimitOverrunError("chunked body too large", total)
            chunks.append(await reader.readexactly(size))
            await reader.readexactly(2)

    async def aclose(self) -> None:
        self._closed = True
        for pool in self._idle.values():
            for connection in pool:
                connection.close()
        self._idle.clear()
