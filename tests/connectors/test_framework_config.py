"""Connector configuration as an integrator posts it, the circuit breaker's state machine,
and the system adapters. No network."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from pydantic import ValidationError

from connectors.base import (
    BreakerOpen,
    BreakerPolicy,
    CircuitBreaker,
    Connector,
    ConnectorConfig,
    HttpConnector,
    OAuth2ClientCredentials,
)
from connectors.mapping import compile_mapping
from connectors.systems import ADAPTERS, adapter, system_of
from dictionary import load_dictionary

VALID: dict[str, Any] = {
    "system": "civil-status",
    "base_url": "https://ho-tich.example.gov.vn/api/",
    "auth": {
        "kind": "oauth2",
        "token_url": "/oauth/token",
        "client_id": "hub",
        "client_secret": "s3cr3t-value",
    },
    "timeouts": {"connect": 1, "read": 2, "total": 5},
    "retries": {"max_attempts": 2},
    "breaker": {"failure_threshold": 3, "open_seconds": 10},
    "max_concurrency": 8,
}


def test_a_valid_config_is_normalised() -> None:
    config = ConnectorConfig.model_validate(VALID)
    assert config.system == "civil_status"
    assert config.base_url == "https://ho-tich.example.gov.vn/api"
    assert isinstance(config.auth, OAuth2ClientCredentials)
    assert config.breaker.window == 20  # defaults fill the rest


def test_secrets_never_show_in_repr_logs_or_public_dict(caplog: pytest.LogCaptureFixture) -> None:
    config = ConnectorConfig.model_validate(
        {**VALID, "auth": {"kind": "api_key", "header": "X-Api-Key", "key": "khoa-bi-mat"}}
    )
    with caplog.at_level(logging.INFO):
        logging.getLogger("test").info("registered %s", config)

    assert "khoa-bi-mat" not in repr(config)
    assert "khoa-bi-mat" not in str(config.public_dict())
    assert "khoa-bi-mat" not in caplog.text
    assert config.storage_dict()["auth"]["key"] == "khoa-bi-mat"
    assert ConnectorConfig.model_validate(config.storage_dict()) == config


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"system": "passports"}, "system"),
        ({"base_url": "ftp://x.gov.vn"}, "base_url"),
        ({"base_url": "https://user:pw@x.gov.vn"}, "base_url"),
        ({"base_url": "https://x.gov.vn/?a=1"}, "base_url"),
        ({"timeouts": {"connect": 5, "read": 2, "total": 3}}, "timeouts"),
        ({"timeouts": {"read": -1}}, "timeouts.read"),
        ({"retries": {"max_attempts": 0}}, "retries.max_attempts"),
        ({"retries": {"backoff_base": 2, "backoff_max": 1}}, "retries"),
        ({"breaker": {"window": 5, "min_calls": 10}}, "breaker"),
        ({"breaker": {"error_rate": 1.5}}, "breaker.error_rate"),
        ({"max_concurrency": 0}, "max_concurrency"),
        ({"auth": {"kind": "api_key", "key": "  "}}, "auth.api_key.key"),
        ({"auth": {"kind": "api_key", "key": "k", "header": "Bad Header"}}, "auth.api_key.header"),
        ({"auth": {"kind": "kerberos"}}, "auth"),
        (
            {"auth": {"kind": "oauth2", "client_id": "x", "client_secret": "y", "token_url": "x"}},
            "auth.oauth2.token_url",
        ),
        ({"retry": {"max_attempts": 2}}, "retry"),
    ],
)
def test_a_bad_config_is_refused_saying_where(change: dict[str, Any], where: str) -> None:
    with pytest.raises(ValidationError) as refused:
        ConnectorConfig.model_validate({**VALID, **change})
    locations = {".".join(str(p) for p in e["loc"]) for e in refused.value.errors()}
    assert any(loc == where or loc.startswith(where) for loc in locations), locations
    assert "s3cr3t-value" not in str(refused.value)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_breaker_opens_on_consecutive_failures_and_half_opens_with_one_probe() -> None:
    clock = Clock()
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

    clock.now += 5
    assert breaker.state == "half_open"
    probe = breaker.before_call()
    assert probe is True
    with pytest.raises(BreakerOpen):
        breaker.before_call()  # exactly one probe at a time
    breaker.on_failure(probe)
    assert breaker.state == "open"

    clock.now += 5
    breaker.on_success(breaker.before_call())
    assert breaker.state == "closed"
    assert breaker.snapshot()["times_opened"] == 2


def test_the_breaker_opens_on_the_error_rate_over_its_window() -> None:
    breaker = CircuitBreaker(
        BreakerPolicy(failure_threshold=100, error_rate=0.5, window=10, min_calls=6), Clock()
    )
    for failed in (True, False, True, False, True):
        (breaker.on_failure if failed else breaker.on_success)(breaker.before_call())
    assert breaker.state == "closed"  # 3 of 5, but fewer than min_calls
    breaker.on_success(breaker.before_call())
    assert breaker.state == "closed"  # 3 of 6 is 0.5: opens on the next failure
    breaker.on_failure(breaker.before_call())
    assert breaker.state == "open"


def test_a_straggler_cannot_close_an_open_breaker_and_a_cancelled_probe_frees_its_slot() -> None:
    clock = Clock()
    breaker = CircuitBreaker(BreakerPolicy(failure_threshold=1, min_calls=1, open_seconds=1), clock)
    straggler = breaker.before_call()
    breaker.on_failure(breaker.before_call())
    breaker.on_success(straggler)
    assert breaker.state == "open"

    clock.now += 1
    breaker.release(breaker.before_call())
    assert breaker.before_call() is True  # the next call may probe


def test_every_system_has_an_adapter_with_defaults() -> None:
    dictionary = load_dictionary()
    assert set(ADAPTERS) == {"population", "civil_status", "land", "tax"}
    served = [rt for a in ADAPTERS.values() for rt in a.record_types]
    assert sorted(served) == sorted(dictionary.record_types)
    for name, kind in ADAPTERS.items():
        for record_type in kind.record_types:
            assert dictionary.record_type(record_type).owner_system == name
            assert system_of(record_type) is kind
    assert adapter("civil-status").mock_name == "civil-status"
    config = adapter("land").config("http://127.0.0.1:1", {"kind": "api_key", "key": "k"})
    assert config.system == "land" and config.max_concurrency == ADAPTERS["land"].max_concurrency


def test_shipped_mappings_compile_against_the_dictionary() -> None:
    dictionary = load_dictionary()
    for kind in ADAPTERS.values():
        compiled = set()
        for spec in kind.load_mappings():
            mapping = compile_mapping(spec, dictionary)
            assert mapping.record_type in kind.record_types, spec.get("id")
            compiled.add(mapping.record_type)
        assert compiled == set(kind.record_types), kind.system


async def test_the_http_connector_is_a_connector_and_hides_its_secrets() -> None:
    connector = HttpConnector(ConnectorConfig.model_validate(VALID))
    try:
        assert isinstance(connector, Connector)
        assert "s3cr3t-value" not in repr(connector)
        assert connector.stats.snapshot()["breaker"]["state"] == "closed"
    finally:
        await connector.aclose()
