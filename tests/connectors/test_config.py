"""Connector configuration as an integrator posts it: normalised, refused saying where, and
its secrets kept out of sight. No network."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from pydantic import ValidationError

from connectors.base import Connector, ConnectorConfig, HttpConnector, OAuth2ClientCredentials

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


async def test_the_http_connector_is_a_connector_and_hides_its_secrets() -> None:
    connector = HttpConnector(ConnectorConfig.model_validate(VALID))
    try:
        assert isinstance(connector, Connector)
        assert "s3cr3t-value" not in repr(connector)
        assert connector.stats.snapshot()["breaker"]["state"] == "closed"
    finally:
        await connector.aclose()
