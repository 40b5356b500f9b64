"""The circuit breaker's state machine, on a fake clock. No network."""

from __future__ import annotations

import pytest

from connectors.base import BreakerOpen, BreakerPolicy, CircuitBreaker
from tests.helpers.clock import FakeClock


def test_the_breaker_opens_on_consecutive_failures_and_half_opens_with_one_probe() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(
        BreakerPolicy(failure_threshold=3, window=10, min_calls=10, open_seconds=5), clock
    )
    for _ in range(3):
        breaker.on_failure(breaker.before_call())
    assert breaker.state == "open"

    with pytest.raises(BreakerOpen) as refused:
        breaker.before_call()
    assert refused.value.code == "source_unavailable"
    assert 0 < refused.value.retry_after <= 5

    clock.advance(5)
    assert breaker.state == "half_open"
    probe = breaker.before_call()
    assert probe is True
    with pytest.raises(BreakerOpen):
        breaker.before_call()  # exactly one probe at a time
    breaker.on_failure(probe)
    assert breaker.state == "open"

    clock.advance(5)
    breaker.on_success(breaker.before_call())
    assert breaker.state == "closed"
    assert breaker.snapshot()["times_opened"] == 2


def test_the_breaker_opens_on_the_error_rate_over_its_window() -> None:
    breaker = CircuitBreaker(
        BreakerPolicy(failure_threshold=100, error_rate=0.5, window=10, min_calls=6), FakeClock()
    )
    for failed in (True, False, True, False, True):
        (breaker.on_failure if failed else breaker.on_success)(breaker.before_call())
    assert breaker.state == "closed"  # 3 of 5, but fewer than min_calls
    breaker.on_success(breaker.before_call())
    assert breaker.state == "closed"  # 3 of 6 is 0.5: opens on the next failure
    breaker.on_failure(breaker.before_call())
    assert breaker.state == "open"


def test_a_straggler_cannot_close_an_open_breaker_and_a_cancelled_probe_frees_its_slot() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(BreakerPolicy(failure_threshold=1, min_calls=1, open_seconds=1), clock)
    straggler = breaker.before_call()
    breaker.on_failure(breaker.before_call())
    breaker.on_success(straggler)
    assert breaker.state == "open"

    clock.advance(1)
    breaker.release(breaker.before_call())
    assert breaker.before_call() is True  # the next call may probe
