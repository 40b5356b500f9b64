"""The four mock source systems as real uvicorn processes on loopback, for tests over HTTP.

    with MockServers() as mocks:
        mocks.url("population")              # http://127.0.0.1:PORT
        mocks.auth("tax")                    # a connector's ``auth`` dict (see below)
        mocks.set_faults("land", error_rate=1.0)
        mocks.dataset.demo_citizens(3)       # the same data the processes serve

``auth(system)`` is stable, and the connector framework consumes it as is:

* ``{"kind": "api_key", "header": "X-API-Key", "key": "..."}`` (population, land)
* ``{"kind": "oauth2", "token_url": "http://127.0.0.1:PORT/oauth/token",
  "client_id": "...", "client_secret": "..."}`` (civil-status, tax)

The fixture ``mock_servers`` in tests/conftest.py starts one set per test session and resets
faults and statistics before each test that uses it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from connectors.mocks import SYSTEMS, MockSettings, create_mock_app
from connectors.mocks.dataset import Dataset
from connectors.mocks.server import TOKEN_PATH, SystemSpec

REPO_ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class MockServerError(RuntimeError):
    pass


class MockServers:
    """Starts, addresses, configures and stops the four mocks (one process each)."""

    def __init__(
        self,
        settings: MockSettings | None = None,
        systems: tuple[str, ...] = SYSTEMS,
        startup_timeout: float = 30.0,
    ) -> None:
        self.settings = settings or MockSettings()
        self.systems = systems
        self.startup_timeout = startup_timeout
        self._ports: dict[str, int] = {}
        self._processes: dict[str, subprocess.Popen[bytes]] = {}
        self._logs: dict[str, Any] = {}
        self._dataset: Dataset | None = None
        self._specs: dict[str, SystemSpec] = {}
        self._http = httpx.Client(timeout=10.0)

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> MockServers:
        try:
            for system in self.systems:
                self._spawn(system)
            deadline = time.monotonic() + self.startup_timeout
            for system in self.systems:
                self._wait_ready(system, deadline)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for process in self._processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self._processes.values():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        for log in self._logs.values():
            log.close()
        self._processes.clear()
        self._logs.clear()
        self._http.close()

    def __enter__(self) -> MockServers:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _spawn(self, system: str) -> None:
        port = free_port()
        s = self.settings
        command = [
            sys.executable, "-m", "connectors.mocks", system,
            "--host", "127.0.0.1", "--port", str(port),
            "--seed", str(s.seed), "--persons", str(s.persons),
            "--conflict-rate", str(s.conflict_rate),
            "--missing-optional-rate", str(s.missing_optional_rate),
            "--stale-rate", str(s.stale_rate),
            "--token-ttl", str(s.token_ttl_seconds),
            "--log-level", "warning",
        ]  # fmt: skip
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(
                p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p
            ),
            # Secrets go through the environment, not the command line (ps shows argv).
            "MOCK_API_KEY": s.api_key,
            "MOCK_CLIENT_ID": s.oauth_client_id,
            "MOCK_CLIENT_SECRET": s.oauth_client_secret,
        }
        log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()
        self._logs[system] = log
        self._processes[system] = subprocess.Popen(
            command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        self._ports[system] = port

    def _wait_ready(self, system: str, deadline: float) -> None:
        process = self._processes[system]
        while True:
            if process.poll() is not None:
                raise MockServerError(
                    f"mock {system} exited with {process.returncode}:\n{self._log_text(system)}"
                )
            try:
                if self._http.get(f"{self.url(system)}/__stats", timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise MockServerError(
                    f"mock {system} not ready within {self.startup_timeout}s:\n"
                    f"{self._log_text(system)}"
                )
            time.sleep(0.05)

    def _log_text(self, system: str) -> str:
        log = self._logs[system]
        log.seek(0)
        return str(log.read().decode("utf-8", "replace"))[-4000:]

    # -- addressing -------------------------------------------------------------------------

    def url(self, system: str) -> str:
        """Base URL of a running mock, without a trailing slash."""
        if system not in self._ports:
            raise KeyError(f"no mock {system!r}; running: {', '.join(self._ports)}")
        return f"http://127.0.0.1:{self._ports[system]}"

    def auth(self, system: str) -> dict[str, Any]:
        """What a connector needs to authenticate to the mock (its ``auth`` config)."""
        spec = self._spec(system)
        if spec.auth == "api_key":
            return {"kind": "api_key", "header": spec.api_key_header, "key": self.settings.api_key}
        return {
            "kind": "oauth2",
            "token_url": f"{self.url(system)}{TOKEN_PATH}",
            "client_id": self.settings.oauth_client_id,
            "client_secret": self.settings.oauth_client_secret,
        }

    def _spec(self, system: str) -> SystemSpec:
        """The mock's own spec, so its auth style and key header are not restated here."""
        if system not in self._specs:
            self._specs[system] = create_mock_app(system, self.settings, self.dataset).spec
        return self._specs[system]

    def headers(self, system: str) -> dict[str, str]:
        """Request headers that authenticate a plain HTTP call (fetches a token if needed)."""
        auth = self.auth(system)
        if auth["kind"] == "api_key":
            return {auth["header"]: auth["key"]}
        answer = self._http.post(
            auth["token_url"],
            data={
                "grant_type": "client_credentials",
                "client_id": auth["client_id"],
                "client_secret": auth["client_secret"],
            },
        )
        answer.raise_for_status()
        return {"Authorization": f"Bearer {answer.json()['access_token']}"}

    @property
    def dataset(self) -> Dataset:
        """The dataset the mocks serve, built in this process from the same settings."""
        if self._dataset is None:
            self._dataset = Dataset(self.settings)
        return self._dataset

    # -- control ----------------------------------------------------------------------------

    def set_faults(self, system: str, **faults: Any) -> dict[str, Any]:
        """Replace the mock's faults (fields not given go back to their defaults)."""
        answer = self._http.put(f"{self.url(system)}/__faults", json=faults)
        if answer.status_code != 200:
            raise MockServerError(f"{system} refused faults {faults}: {answer.text}")
        result: dict[str, Any] = answer.json()
        return result

    def faults(self, system: str) -> dict[str, Any]:
        result: dict[str, Any] = self._http.get(f"{self.url(system)}/__faults").json()
        return result

    def stats(self, system: str) -> dict[str, Any]:
        result: dict[str, Any] = self._http.get(f"{self.url(system)}/__stats").json()
        return result

    def expire_tokens(self, system: str) -> int:
        """Expire every OAuth2 token the mock has issued; returns how many were live."""
        answer = self._http.delete(f"{self.url(system)}/__tokens")
        answer.raise_for_status()
        expired: int = answer.json()["expired"]
        return expired

    def reset(self) -> None:
        """No faults, zeroed statistics and no applied writes on every mock."""
        for system in self._ports:
            for control in ("__faults", "__stats", "__writes"):
                self._http.delete(f"{self.url(system)}/{control}").raise_for_status()
