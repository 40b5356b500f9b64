"""The outer layer: body limits by matched route, a large body read only from an
authenticated caller, and the server's own 400 as a Problem document."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI, Request

from app import migrate
from app.config import Settings
from app.db import create_engine, create_sessionmaker
from app.routing import LARGE_BODY, HubRoute
from app.security import service as security_service
from app.security.roles import Role
from tests.helpers.clients import ApiCredentials, MakeClient
from tests.helpers.mock_servers import REPO_ROOT, free_port

CHUNK = 16 * 1024


class StreamedBody:
    """An ASGI ``receive`` handing out a body chunk by chunk, counting what was taken."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.chunks_taken = 0

    async def receive(self) -> dict[str, Any]:
        sent = self.chunks_taken * CHUNK
        if sent >= self.size:
            return {"type": "http.disconnect"}
        self.chunks_taken += 1
        body = b" " * min(CHUNK, self.size - sent)
        return {"type": "http.request", "body": body, "more_body": sent + len(body) < self.size}


async def _call(
    app: FastAPI,
    method: str,
    path: str,
    body: StreamedBody,
    headers: dict[str, str],
    *,
    declare_length: bool,
) -> tuple[int, dict[str, Any]]:
    """Send a request straight to the ASGI app, its body streamed from ``body``."""
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    if declare_length:
        raw.append((b"content-length", str(body.size).encode()))
    else:
        raw.append((b"transfer-encoding", b"chunked"))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"hub.test"), *raw],
        "client": ("127.0.0.1", 50000),
        "server": ("hub.test", 80),
    }
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, body.receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    content = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    assert dict(start["headers"])[b"content-type"] == b"application/problem+json"
    return start["status"], orjson.loads(content)


@pytest.fixture
async def consumer(make_api_client: MakeClient) -> ApiCredentials:
    return await make_api_client("consumer")


@pytest.mark.parametrize("declare_length", [True, False])
async def test_a_path_ending_in_batch_gets_the_limit_of_its_route(
    app: FastAPI, consumer: ApiCredentials, settings: Settings, declare_length: bool
) -> None:
    # PATCH /v1/filings/batch is the filing route with id "batch": the ordinary limit.
    body = StreamedBody(settings.max_body_bytes * 4)
    headers = {**consumer.headers, "content-type": "application/json", "x-user-id": "o-1"}
    status, problem = await _call(
        app, "PATCH", "/v1/filings/batch", body, headers, declare_length=declare_length
    )
    assert (status, problem["code"]) == (413, "payload_too_large")
    assert problem["limit_bytes"] == settings.max_body_bytes
    # Declared: nothing read. Streamed: read no further than the limit.
    most = 0 if declare_length else settings.max_body_bytes // CHUNK + 1
    assert body.chunks_taken <= most


@pytest.mark.parametrize("declare_length", [True, False])
@pytest.mark.parametrize("authorization", [None, "Bearer doh_forged", "Bearer a.b.c"])
async def test_a_large_body_without_a_valid_credential_is_not_read(
    app: FastAPI, settings: Settings, declare_length: bool, authorization: str | None
) -> None:
    body = StreamedBody(settings.max_body_bytes + 1)
    headers = {"content-type": "application/x-ndjson"}
    if authorization is not None:
        headers["authorization"] = authorization
    status, problem = await _call(
        app, "POST", "/v1/validate/Person/batch", body, headers, declare_length=declare_length
    )
    assert status in (401, 403), problem
    assert body.chunks_taken == 0


@pytest.mark.parametrize("declare_length", [True, False])
async def test_a_large_body_read_before_any_credential_is_refused_unread(
    app: FastAPI, settings: Settings, declare_length: bool
) -> None:
    # The batch route checks the credential before it reads; this route reads first, so only
    # the edge stands between an anonymous caller and a body up to the batch limit.
    async def upload(request: Request) -> dict[str, int]:
        return {"size": len(await request.body())}

    app.router.add_api_route(
        "/test/upload",
        upload,
        methods=["POST"],
        openapi_extra={**LARGE_BODY, "requestBody": {"content": {"text/plain": {}}}},
        route_class_override=HubRoute,
    )
    body = StreamedBody(settings.max_body_bytes * 4)
    headers = {"content-type": "text/plain"}
    status, problem = await _call(
        app, "POST", "/test/upload", body, headers, declare_length=declare_length
    )
    assert (status, problem["code"]) == (401, "unauthenticated")
    # Declared: nothing read. Streamed: read no further than the ordinary limit.
    most = 0 if declare_length else settings.max_body_bytes // CHUNK + 1
    assert body.chunks_taken <= most


async def test_a_body_over_the_largest_limit_is_refused_before_routing(
    app: FastAPI, settings: Settings
) -> None:
    body = StreamedBody(settings.max_batch_body_bytes + 1)
    status, problem = await _call(
        app, "POST", "/v1/validate/Person/batch", body, {}, declare_length=True
    )
    assert (status, problem["code"]) == (413, "payload_too_large")
    assert body.chunks_taken == 0


async def test_an_authenticated_caller_may_send_a_large_batch(
    client: httpx.AsyncClient, consumer: ApiCredentials, settings: Settings
) -> None:
    lines = settings.max_body_bytes // 3 + 100
    answer = await client.post(
        "/v1/validate/Person/batch",
        headers={**consumer.headers, "content-type": "application/x-ndjson"},
        content=b"{}\n" * lines,
    )
    assert answer.status_code == 200
    assert len(answer.content.splitlines()) == lines


async def test_a_large_body_to_an_ordinary_route_gets_413_even_when_authenticated(
    client: httpx.AsyncClient, admin: ApiCredentials, settings: Settings
) -> None:
    answer = await client.post(
        "/v1/clients",
        headers={**admin.headers, "content-type": "application/json"},
        content=b" " * (settings.max_body_bytes + 1),
    )
    assert (answer.status_code, answer.json()["code"]) == (413, "payload_too_large")


async def _create_consumer(database_url: str) -> str:
    engine = create_engine(database_url)
    try:
        async with create_sessionmaker(engine).begin() as session:
            _client, _key, plaintext = await security_service.create_client(
                session, name="edge-test", agency="Test agency", roles=[Role.consumer]
            )
            return plaintext
    finally:
        await engine.dispose()


def _raw_request(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received


def test_a_control_character_in_a_header_gets_a_problem_from_the_server(
    tmp_path: Path,
) -> None:
    database = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    migrate.upgrade(database)
    api_key = asyncio.run(_create_consumer(database))
    port = free_port()
    env = {
        **os.environ,
        "HUB_DATABASE_URL": database,
        "HUB_DATA_DIR": str(tmp_path / "data"),
        "HUB_DEMO": "false",
    }
    command = [sys.executable, "-m", "app", "serve", "--host", "127.0.0.1", "--port", str(port)]
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, log.read_text()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        for control in (b"\x00", b"\x01", b"\x7f"):
            answer = _raw_request(
                port,
                b"GET /healthz HTTP/1.1\r\nHost: hub\r\nX-User-Id: a" + control + b"b\r\n\r\n",
            )
            head, _, body = answer.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 400"), answer
            assert b"content-type: application/problem+json" in head.lower()
            problem = orjson.loads(body)
            assert (problem["status"], problem["code"]) == (400, "malformed_request")
        # A header value the parser lets through but the hub refuses: a Problem too.
        officer = _raw_request(
            port,
            b"GET /v1/records/Person/001190012345 HTTP/1.1\r\nHost: hub\r\n"
            b"Authorization: Bearer " + api_key.encode() + b"\r\n"
            b"X-User-Id: \xc3\xa9\r\nX-Purpose: test\r\nConnection: close\r\n\r\n",
        )
        head, _, body = officer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 400"), officer
        assert b"content-type: application/problem+json" in head.lower()
        assert orjson.loads(body)["code"] == "invalid_header"
        # A NUL in the path reaches the hub and is refused there.
        nul = _raw_request(
            port,
            b"GET /v1/dictionary/elements/%00 HTTP/1.1\r\nHost: hub\r\nConnection: close\r\n\r\n",
        )
        assert orjson.loads(nul.partition(b"\r\n\r\n")[2])["code"] == "invalid_characters"
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
