"""A clock that moves only when a test moves it, for code that takes ``clock`` (a callable
returning monotonic seconds): the connectors' circuit breaker and OAuth2 token."""

from __future__ import annotations


class FakeClock:
    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
