"""Per-connector health statistics."""

from __future__ import annotations

import time
from collections import deque
from datetime import UTC, datetime
from typing import Any

from connectors.base.breaker import CircuitBreaker
from connectors.errors import ConnectorError

LATENCY_WINDOW = 1_000


# ---------------------------------------------------------------------------------------------
# Statistics


ERROR_KINDS = (
    "timeout",
    "unavailable",
    "malformed",
    "invalid",
    "not_found",
    "auth",
    "rejected",
    "breaker_open",
)


class ConnectorStats:
    """Per-connector health data in the spirit of X-Road's: counts, latency over the last
    ``LATENCY_WINDOW`` calls, last success and failure, and the breaker's state."""

    def __init__(self, system: str, breaker: CircuitBreaker, window: int = LATENCY_WINDOW):
        self.system = system
        self.breaker = breaker
        self.requests = 0
        self.successes = 0
        self.attempts = 0
        self.retries = 0
        self.errors: dict[str, int] = dict.fromkeys(ERROR_KINDS, 0)
        self._latencies: deque[float] = deque(maxlen=window)
        self._last_success: float | None = None
        self._last_failure: tuple[float, str, str] | None = None

    def record_success(self, seconds: float) -> None:
        self.successes += 1
        self._latencies.append(seconds)
        self._last_success = time.time()

    def record_failure(self, error: ConnectorError, seconds: float) -> None:
        kind = error.kind
        self.errors[kind] = self.errors.get(kind, 0) + 1
        if kind != "breaker_open":
            self._latencies.append(seconds)
        self._last_failure = (time.time(), kind, error.detail)

    def latency_ms(self) -> dict[str, float | int | None]:
        ordered = sorted(self._latencies)
        count = len(ordered)

        def at(share: float) -> float | None:
            if not count:
                return None
            return round(ordered[min(count - 1, int(share * count))] * 1000, 3)

        return {"p50": at(0.50), "p95": at(0.95), "p99": at(0.99), "samples": count}

    def snapshot(self) -> dict[str, Any]:
        failure = self._last_failure
        return {
            "system": self.system,
            "requests": self.requests,
            "successes": self.successes,
            "errors": dict(self.errors),
            "error_total": sum(self.errors.values()),
            "attempts": self.attempts,
            "retries": self.retries,
            "latency_ms": self.latency_ms(),
            "last_success": _iso(self._last_success),
            "last_failure": (
                {"at": _iso(failure[0]), "kind": failure[1], "detail": failure[2]}
                if failure
                else None
            ),
            "breaker": self.breaker.snapshot(),
        }


def _iso(timestamp: float | None) -> str | None:
    return datetime.fromtimestamp(timestamp, UTC).isoformat() if timestamp is not None else None
