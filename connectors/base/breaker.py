"""The per-source circuit breaker."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Any, Literal

from connectors.base.config import BreakerPolicy
from connectors.errors import BreakerOpen

# ---------------------------------------------------------------------------------------------
# Circuit breaker


class CircuitBreaker:
    """Count-based: closed -> open on failures, open -> half_open after ``open_seconds``,
    half_open lets exactly one probe through and closes on its success, reopens on failure.

    ``before_call`` returns whether the call is the probe; the outcome methods take that
    flag, so a straggler that started before the breaker opened cannot close it.
    """

    def __init__(self, policy: BreakerPolicy, clock: Callable[[], float] = time.monotonic) -> None:
        self.policy = policy
        self._clock = clock
        self._state: Literal["closed", "open", "half_open"] = "closed"
        self._consecutive = 0
        self._window: deque[bool] = deque(maxlen=policy.window)
        self._window_failures = 0
        self._opened_at = 0.0
        self._probe_in_flight = False
        self.times_opened = 0

    @property
    def state(self) -> str:
        if self._state == "open" and self._clock() >= self._opened_at + self.policy.open_seconds:
            return "half_open"
        return self._state

    def retry_after(self) -> float:
        if self._state == "open":
            return max(0.0, self._opened_at + self.policy.open_seconds - self._clock())
        if self._state == "half_open":
            return min(1.0, self.policy.open_seconds)
        return 0.0

    def before_call(self) -> bool:
        if self._state == "closed":
            return False
        if self._state == "open":
            remaining = self._opened_at + self.policy.open_seconds - self._clock()
            if remaining > 0:
                raise BreakerOpen(remaining)
            self._state = "half_open"
        if self._probe_in_flight:
            raise BreakerOpen(min(1.0, self.policy.open_seconds))
        self._probe_in_flight = True
        return True

    def on_success(self, probe: bool) -> None:
        if probe:
            self._close()
        elif self._state == "closed":
            self._consecutive = 0
            self._push(False)

    def on_failure(self, probe: bool) -> None:
        if probe:
            self._probe_in_flight = False
            self._open()
        elif self._state == "closed":
            self._consecutive += 1
            self._push(True)
            window = len(self._window)
            if self._consecutive >= self.policy.failure_threshold or (
                window >= self.policy.min_calls
                and self._window_failures / window >= self.policy.error_rate
            ):
                self._open()

    def release(self, probe: bool) -> None:
        """The call ended with no verdict on the source (cancelled): free the probe slot."""
        if probe:
            self._probe_in_flight = False

    def _push(self, failed: bool) -> None:
        window = self._window
        if len(window) == window.maxlen and window[0]:
            self._window_failures -= 1
        window.append(failed)
        if failed:
            self._window_failures += 1

    def _open(self) -> None:
        self._state = "open"
        self._opened_at = self._clock()
        self.times_opened += 1

    def _close(self) -> None:
        self._state = "closed"
        self._probe_in_flight = False
        self._consecutive = 0
        self._window.clear()
        self._window_failures = 0

    def snapshot(self) -> dict[str, Any]:
        window = len(self._window)
        return {
            "state": self.state,
            "consecutive_failures": self._consecutive,
            "window_calls": window,
            "window_error_rate": round(self._window_failures / window, 4) if window else 0.0,
            "retry_after": round(self.retry_after(), 3) if self._state != "closed" else None,
            "times_opened": self.times_opened,
        }
