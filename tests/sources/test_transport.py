"""The connectors' lean HTTP/1.1 transport against a raw socket server: the body framings
sources use, kept-alive connections the server closed, and timeouts as httpx's errors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest

from app.sources.transport import LeanTransport

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _read_request(reader: asyncio.StreamReader) -> bytes:
    return await reader.readuntil(b"\r\n\r\n")


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Handler], Awaitable[str]]]:
    servers: list[asyncio.Server] = []

    async def start(handler: Handler) -> str:
        server = await asyncio.start_server(handler, "127.0.0.1", 0)
        servers.append(server)
        port = server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    yield start
    for server in servers:
        server.close()


async def test_chunked_length_and_close_delimited_bodies(
    serve: Callable[..., Awaitable[str]],
) -> None:
    answers = [
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n",
        b"HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\ngone",
    ]
    seen: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while answers:
            seen.append(await _read_request(reader))
            answer = answers.pop(0)
            writer.write(answer)
            await writer.drain()
            if b"close" in answer:
                break
        writer.close()

    base = await serve(handler)
    async with httpx.AsyncClient(transport=LeanTransport(), base_url=base) as client:
        first = await client.get("/a?x=1", headers={"X-API-Key": "k"})
        second = await client.get("/b")
        third = await client.get("/c")
    assert (first.status_code, first.text) == (200, "hello")
    assert (second.status_code, second.text) == (200, "abcde")
    assert (third.status_code, third.text) == (404, "gone")
    assert seen[0].startswith(b"GET /a?x=1 HTTP/1.1\r\n")
    assert b"X-API-Key: k" in seen[0]
    assert len(seen) == 3, "the three requests shared one kept-alive connection"


async def test_a_kept_alive_connection_the_server_closed_is_replaced(
    serve: Callable[..., Awaitable[str]],
) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        writer.close()  # without saying Connection: close

    base = await serve(handler)
    async with httpx.AsyncClient(transport=LeanTransport(), base_url=base) as client:
        for _ in range(3):
            answer = await client.get("/")
            assert answer.text == "ok"


async def test_no_answer_is_a_read_timeout_and_no_server_a_connect_error(
    serve: Callable[..., Awaitable[str]],
) -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        await asyncio.sleep(5)

    base = await serve(silent)
    timeout = httpx.Timeout(connect=1.0, read=0.2, write=0.2, pool=1.0)
    async with httpx.AsyncClient(transport=LeanTransport(), base_url=base, timeout=timeout) as c:
        with pytest.raises(httpx.ReadTimeout):
            await c.get("/")
    async with httpx.AsyncClient(
        transport=LeanTransport(), base_url="http://127.0.0.1:9", timeout=timeout
    ) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get("/")


async def test_a_garbled_answer_is_a_protocol_error(serve: Callable[..., Awaitable[str]]) -> None:
    async def garbled(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b"SMTP ready\r\n\r\n")
        await writer.drain()
        writer.close()

    base = await serve(garbled)
    async with httpx.AsyncClient(transport=LeanTransport(), base_url=base) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.get("/")
