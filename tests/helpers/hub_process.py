"""A real hub process on a loopback port, for tests about processes and the network."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import httpx

from tests.helpers.mock_servers import free_port

__all__ = ["ROOT", "free_port", "start_hub", "wait_ready"]

ROOT = Path(__file__).resolve().parents[2]


def start_hub(
    env: dict[str, str], port: int, stderr: int | IO[bytes] = subprocess.PIPE
) -> subprocess.Popen[bytes]:
    """``uvicorn app.main:create_app`` on 127.0.0.1:``port``, configured by ``env``."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "app.main:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
    )


async def wait_ready(
    http: httpx.AsyncClient, proc: subprocess.Popen[bytes], seconds: float = 30
) -> None:
    """Until the hub on ``http`` answers ``/healthz``; fails with its stderr if it exits."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = proc.stderr.read().decode()[-2000:] if proc.stderr else ""
            raise AssertionError(f"the hub process exited: {tail}")
        try:
            if (await http.get("/healthz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError("the hub process did not start")
