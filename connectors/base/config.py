"""What an integrator POSTs to register a source: timeouts, retries, breaker policy, auth and
the connector's configuration."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
# What an HTTP client can send in a header: printable ASCII and spaces.
HEADER_VALUE_PATTERN = r"^[\x20-\x7e]*$"


# ---------------------------------------------------------------------------------------------
# Configuration: exactly what an integrator POSTs


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Timeouts(_Strict):
    """Seconds. ``total`` bounds one whole logical call: queueing, token, retries, pages."""

    connect: float = Field(default=2.0, gt=0, le=60)
    read: float = Field(default=5.0, gt=0, le=300)
    total: float = Field(default=10.0, gt=0, le=600)

    @model_validator(mode="after")
    def _total_covers_one_attempt(self) -> Timeouts:
        if self.total < self.connect:
            raise ValueError(f"total ({self.total}) must be at least connect ({self.connect})")
        if self.total < self.read:
            raise ValueError(f"total ({self.total}) must be at least read ({self.read})")
        return self


class RetryPolicy(_Strict):
    """Attempts per call (1 = no retry), and the backoff between them in seconds."""

    max_attempts: int = Field(default=3, ge=1, le=10)
    backoff_base: float = Field(default=0.05, ge=0, le=30)
    backoff_max: float = Field(default=1.0, ge=0, le=60)

    @model_validator(mode="after")
    def _max_not_below_base(self) -> RetryPolicy:
        if self.backoff_max < self.backoff_base:
            raise ValueError(
                f"backoff_max ({self.backoff_max}) must be at least backoff_base "
                f"({self.backoff_base})"
            )
        return self


class BreakerPolicy(_Strict):
    """Opens after ``failure_threshold`` failures in a row, or when the share of failures
    among the last ``window`` calls reaches ``error_rate`` (once at least ``min_calls``
    are in the window). Stays open ``open_seconds``, then lets one probe through."""

    failure_threshold: int = Field(default=5, ge=1, le=1000)
    error_rate: float = Field(default=0.5, gt=0, le=1)
    window: int = Field(default=20, ge=1, le=10_000)
    min_calls: int = Field(default=10, ge=1, le=10_000)
    open_seconds: float = Field(default=30.0, gt=0, le=3600)

    @model_validator(mode="after")
    def _min_calls_fit_the_window(self) -> BreakerPolicy:
        if self.min_calls > self.window:
            raise ValueError(
                f"min_calls ({self.min_calls}) cannot exceed the window ({self.window})"
            )
        return self


class ApiKeyAuth(_Strict):
    """A static key sent in a header on every request: ``header: prefix + key``."""

    kind: Literal["api_key"] = "api_key"
    header: str = Field(
        default="X-API-Key",
        min_length=1,
        max_length=100,
        json_schema_extra={"pattern": _HEADER_NAME.pattern},
    )
    key: SecretStr = Field(json_schema_extra={"pattern": r"^[\x20-\x7e]*[\x21-\x7e][\x20-\x7e]*$"})
    prefix: str | None = Field(default=None, max_length=50, pattern=HEADER_VALUE_PATTERN)

    @field_validator("header")
    @classmethod
    def _header_is_a_token(cls, value: str) -> str:
        if not _HEADER_NAME.match(value):
            raise ValueError(f"{value!r} is not a valid HTTP header name")
        return value

    @field_validator("key")
    @classmethod
    def _key_is_printable(cls, value: SecretStr) -> SecretStr:
        secret = value.get_secret_value()
        if not secret.strip():
            raise ValueError("the key is empty")
        if not re.fullmatch(r"[\x20-\x7e]*", secret):
            raise ValueError("the key must be printable ASCII (it is sent in a header)")
        return value


class OAuth2ClientCredentials(_Strict):
    """OAuth2 client credentials (RFC 6749 section 4.4). The token is cached and refreshed
    ``refresh_margin_seconds`` before it expires (at most half its lifetime early)."""

    kind: Literal["oauth2"] = "oauth2"
    token_url: str = Field(default="/oauth/token", min_length=1, max_length=2000)
    client_id: str = Field(min_length=1, max_length=200)
    client_secret: SecretStr
    scope: str | None = Field(default=None, max_length=500)
    client_auth: Literal["body", "basic"] = "body"
    refresh_margin_seconds: float = Field(default=30.0, ge=0, le=3600)

    @field_validator("token_url")
    @classmethod
    def _token_url(cls, value: str) -> str:
        if value.startswith("/"):
            return value
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("token_url is a path on the source ('/oauth/token') or an http(s) URL")
        return value

    @field_validator("client_secret")
    @classmethod
    def _secret_not_empty(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value():
            raise ValueError("the client secret is empty")
        return value


Auth = Annotated[ApiKeyAuth | OAuth2ClientCredentials, Field(discriminator="kind")]


class ConnectorConfig(_Strict):
    system: Literal["population", "civil_status", "land", "tax"]
    base_url: str = Field(min_length=1, max_length=2000)
    auth: Auth | None = None
    timeouts: Timeouts = Timeouts()
    retries: RetryPolicy = RetryPolicy()
    breaker: BreakerPolicy = BreakerPolicy()
    max_concurrency: int = Field(default=32, ge=1, le=1000)

    @field_validator("system", mode="before")
    @classmethod
    def _system_spelling(cls, value: object) -> object:
        return value.replace("-", "_") if isinstance(value, str) else value

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("base_url must be an http:// or https:// URL with a host")
        if parts.query or parts.fragment:
            raise ValueError("base_url must not have a query or fragment")
        if parts.username or parts.password:
            raise ValueError("base_url must not carry credentials; use auth")
        return value.rstrip("/")

    def public_dict(self) -> dict[str, Any]:
        """The config as JSON, secrets masked: safe to return and to log."""
        return self.model_dump(mode="json")

    def storage_dict(self) -> dict[str, Any]:
        """The config as JSON with the secrets in clear, for the hub's own store only."""
        data = self.model_dump(mode="json")
        if isinstance(self.auth, ApiKeyAuth):
            data["auth"]["key"] = self.auth.key.get_secret_value()
        elif isinstance(self.auth, OAuth2ClientCredentials):
            data["auth"]["client_secret"] = self.auth.client_secret.get_secret_value()
        return data
