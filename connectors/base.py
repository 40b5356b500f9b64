"""Reaching a source system over HTTP: configuration, the Connector protocol and HttpConnector.

One ``HttpConnector`` per registered source holds one pooled ``httpx.AsyncClient``. Every
logical call (a fetch, one page of a listing) runs inside the per-source concurrency limit
and the total timeout; each HTTP attempt inside it passes the circuit breaker, and a GET
whose attempt failed in a retryable way (connect error, timeout, 5xx, malformed body) is
tried again after a jittered exponential backoff. Nothing else is retried: a 4xx, a
not-found or an invalid record is an answer, not an outage.

Everything that can be built once is built in ``__init__`` or by ``compile_mapping``; the hot
path of ``fetch`` is: breaker check, one GET, ``orjson.loads``, ``mapping.apply``, one
compiled validation per record.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Annotated, Any, Literal, Protocol, TypeVar, runtime_checkable
from urllib.parse import urlsplit

import httpx
import orjson
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from connectors.errors import (
    BreakerOpen,
    ConnectorError,
    SourceAuthFailed,
    SourceInvalidRecord,
    SourceMalformed,
    SourceRejected,
    SourceTimeout,
    SourceUnavailable,
    SubjectNotFound,
)
from connectors.mapping import CompiledMapping, MappingError, NotFoundSpec, Pagination, _walk

__all__ = [
    "ApiKeyAuth",
    "BreakerOpen",
    "BreakerPolicy",
    "CircuitBreaker",
    "Connector",
    "ConnectorConfig",
    "ConnectorError",
    "ConnectorStats",
    "HttpConnector",
    "OAuth2ClientCredentials",
    "ProbeReport",
    "ProbeStep",
    "RetryPolicy",
    "SourceAuthFailed",
    "SourceInvalidRecord",
    "SourceMalformed",
    "SourceRecord",
    "SourceRejected",
    "SourceTimeout",
    "SourceUnavailable",
    "SubjectNotFound",
    "Timeouts",
]

USER_AGENT = "declare-once-hub/0.1"
MAX_PAGES = 1_000
LATENCY_WINDOW = 1_000
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
# What an HTTP client can send in a header: printable ASCII and spaces.
HEADER_VALUE_PATTERN = r"^[\x20-\x7e]*$"

T = TypeVar("T")
_TIMEOUT_KINDS: dict[type[Exception], str] = {
    httpx.ConnectTimeout: "connect timeout",
    httpx.ReadTimeout: "read timeout",
    httpx.WriteTimeout: "write timeout",
    httpx.PoolTimeout: "no free connection in time",
}


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


# ---------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """One record from a source, mapped and validated against ``record_type`` ``version``."""

    data: dict[str, Any]
    raw_reference: str
    last_updated: datetime | None
    retrieved_at: datetime
    record_type: str = ""
    version: str = ""

    @property
    def source_reference(self) -> str:
        return self.raw_reference


@dataclass(frozen=True, slots=True)
class ProbeStep:
    name: str  # reachability | auth | sample
    status: Literal["ok", "failed", "skipped"]
    detail: str
    duration_ms: float = 0.0
    error: str | None = None  # the error code when failed
    kind: str | None = None  # the error kind when failed

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "ok": self.ok,
            "status": self.status,
            "error": self.error,
            "kind": self.kind,
            "detail": self.detail,
            "duration_ms": round(self.duration_ms, 2),
        }


@dataclass(frozen=True, slots=True)
class ProbeReport:
    """Reachability, auth and one sample fetch validated end to end; ``ok`` when the
    sample fetch succeeded and no step failed."""

    system: str
    record_type: str
    steps: tuple[ProbeStep, ...]
    sample_subject: str | None
    checked_at: datetime

    @property
    def ok(self) -> bool:
        return all(s.status != "failed" for s in self.steps) and any(
            s.name == "sample" and s.ok for s in self.steps
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "system": self.system,
            "record_type": self.record_type,
            "sample_subject": self.sample_subject,
            "checked_at": self.checked_at.isoformat(),
            "steps": [s.as_dict() for s in self.steps],
        }


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


# ---------------------------------------------------------------------------------------------
# Credentials


class _OAuth2Token:
    """The cached bearer token; one refresh at a time."""

    def __init__(
        self,
        auth: OAuth2ClientCredentials,
        client: httpx.AsyncClient,
        system: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._auth = auth
        self._clock = clock
        self._client = client
        self._system = system
        self._lock = asyncio.Lock()
        self._headers: dict[str, str] | None = None
        self._refresh_at = 0.0
        self.refreshes = 0
        form = {"grant_type": "client_credentials"}
        if auth.scope:
            form["scope"] = auth.scope
        if auth.client_auth == "body":
            form["client_id"] = auth.client_id
            form["client_secret"] = auth.client_secret.get_secret_value()
            self._basic: tuple[str, str] | None = None
        else:
            self._basic = (auth.client_id, auth.client_secret.get_secret_value())
        self._form = form

    async def headers(self) -> tuple[dict[str, str], bool]:
        """The Authorization header, and whether it was fetched by this call."""
        headers = self._headers
        if headers is not None and self._clock() < self._refresh_at:
            return headers, False
        async with self._lock:
            if self._headers is not None and self._clock() < self._refresh_at:
                return self._headers, False
            return await self._fetch(), True

    async def refresh(self, stale: dict[str, str]) -> dict[str, str]:
        """A new token after the source refused ``stale``; one refresh for many waiters."""
        async with self._lock:
            if self._headers is not None and self._headers is not stale:
                return self._headers
            return await self._fetch()

    async def _fetch(self) -> dict[str, str]:
        system = self._system
        try:
            if self._basic is not None:
                response = await self._client.post(
                    self._auth.token_url, data=self._form, auth=self._basic
                )
            else:
                response = await self._client.post(self._auth.token_url, data=self._form)
        except httpx.TimeoutException as exc:
            raise SourceTimeout(
                f"token endpoint timed out ({type(exc).__name__})", system=system
            ) from None
        except httpx.HTTPError as exc:
            raise SourceUnavailable(
                f"token endpoint unreachable ({type(exc).__name__})", system=system
            ) from None
        status = response.status_code
        if status >= 500:
            raise SourceUnavailable(
                f"token endpoint answered {status}", system=system, status=status
            )
        if status >= 400:
            raise SourceAuthFailed(
                f"token endpoint refused the client credentials ({status})",
                system=system,
                status=status,
            )
        try:
            body = orjson.loads(response.content)
            token = body["access_token"]
            expires_in = body.get("expires_in")
            lifetime = 300.0 if expires_in is None else float(expires_in)
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            raise SourceMalformed("token endpoint gave no access_token", system=system) from None
        margin = min(self._auth.refresh_margin_seconds, lifetime / 2)
        self._headers = {"Authorization": f"Bearer {token}"}
        self._refresh_at = self._clock() + lifetime - margin
        self.refreshes += 1
        return self._headers


# ---------------------------------------------------------------------------------------------
# The protocol and its HTTP implementation


@runtime_checkable
class Connector(Protocol):
    system: str
    stats: ConnectorStats

    async def fetch(self, mapping: CompiledMapping, subject_id: str) -> list[SourceRecord]: ...

    async def list_subjects(self, mapping: CompiledMapping, limit: int) -> list[str]: ...

    async def probe(
        self, mapping: CompiledMapping, sample_subject: str | None = None
    ) -> ProbeReport: ...

    async def aclose(self) -> None: ...


_Items = list[Any]


@dataclass
class _Page:
    items: _Items
    body: Any = field(repr=False, default=None)


class HttpConnector:
    """A source system over HTTP(S). ``transport`` lets the hub mount a source in process
    (``httpx.ASGITransport``) or tests inject one; by default it is a pooled TCP transport."""

    def __init__(
        self,
        config: ConnectorConfig,
        transport: httpx.AsyncBaseTransport | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.system = config.system
        self.breaker = CircuitBreaker(config.breaker, clock)
        self.stats = ConnectorStats(config.system, self.breaker)
        self._semaphore = asyncio.Semaphore(config.max_concurrency)
        self._total = config.timeouts.total
        self._max_attempts = config.retries.max_attempts
        self._backoff_base = config.retries.backoff_base
        self._backoff_max = config.retries.backoff_max
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if isinstance(config.auth, ApiKeyAuth):
            headers[config.auth.header] = (config.auth.prefix or "") + (
                config.auth.key.get_secret_value()
            )
        timeouts = config.timeouts
        if transport is None:
            transport = httpx.AsyncHTTPTransport(
                limits=httpx.Limits(
                    max_connections=config.max_concurrency,
                    max_keepalive_connections=config.max_concurrency,
                ),
                trust_env=False,
            )
        self._transport = transport
        self._client = httpx.AsyncClient(
            base_url=config.base_url,
            headers=headers,
            timeout=httpx.Timeout(
                connect=timeouts.connect,
                read=timeouts.read,
                write=timeouts.read,
                pool=timeouts.total,
            ),
            transport=transport,
            follow_redirects=False,
            trust_env=False,
        )
        # What the client would add to every GET, computed once for _get.
        self._base = str(self._client.base_url).rstrip("/")
        self._headers = self._client.headers
        self._extensions = {"timeout": self._client.timeout.as_dict()}
        self._token: _OAuth2Token | None = (
            _OAuth2Token(config.auth, self._client, config.system, clock)
            if isinstance(config.auth, OAuth2ClientCredentials)
            else None
        )

    def __repr__(self) -> str:
        return f"HttpConnector({self.system}, {self.config.base_url}, breaker={self.breaker.state})"

    # -- public

    async def fetch(self, mapping: CompiledMapping, subject_id: str) -> list[SourceRecord]:
        """The subject's records from the source, mapped and validated.

        Raises SubjectNotFound, SourceTimeout, SourceUnavailable (BreakerOpen, SourceMalformed,
        SourceAuthFailed, SourceRejected) or SourceInvalidRecord; never returns an invalid
        record."""
        return await self._guarded(partial(self._fetch, mapping, subject_id))

    async def _fetch(self, mapping: CompiledMapping, subject_id: str) -> list[SourceRecord]:
        raws = await self._collect(
            mapping.request_path(subject_id),
            mapping.request_params(subject_id),
            mapping.records_at,
            mapping.not_found,
            mapping.pagination,
        )
        retrieved_at = datetime.now(UTC)
        records: list[SourceRecord] = []
        problems: list[dict[str, Any]] | None = None
        for index, raw in enumerate(raws):
            mapped = mapping.apply(raw)
            issues = mapping.issues_of(mapped)
            if issues:
                problems = problems or []
                for issue in issues:
                    problems.append(
                        {**issue.as_dict(), "record": index, "reference": mapped.source_reference}
                    )
                continue
            records.append(
                SourceRecord(
                    mapped.data,
                    mapped.source_reference or f"{mapping.id}/{subject_id}",
                    mapped.last_updated,
                    retrieved_at,
                    mapping.record_type,
                    mapping.record_version,
                )
            )
        if problems:
            raise SourceInvalidRecord(problems, record_type=mapping.record_type, system=self.system)
        return records

    async def list_subjects(self, mapping: CompiledMapping, limit: int) -> list[str]:
        """Up to ``limit`` distinct subject IDs, following the source's pagination (the
        mapping's ``sample`` block). Each page is one guarded call."""
        listing = mapping.listing
        if listing is None:
            raise MappingError(
                [
                    {
                        "path": "sample",
                        "code": "missing_key",
                        "message": f"mapping {mapping.id} has no sample block to list subjects",
                    }
                ]
            )
        subjects: dict[str, None] = {}
        if limit <= 0:
            return []
        pagination = listing.pagination
        cursor: Any = None
        for page_number in range(MAX_PAGES):
            params = dict(listing.params)
            if pagination is not None:
                _page_params(params, pagination, page_number, cursor)
            page = await self._guarded(
                partial(self._page, listing.path, params, listing.records_at, None, False)
            )
            for item in page.items:
                subject = _walk(item, listing.subject_at) if listing.subject_at else item
                if subject is not None and subject != "":
                    subjects[str(subject)] = None
                    if len(subjects) >= limit:
                        return list(subjects)
            if pagination is None or not _has_more(page, pagination, page_number):
                break
            cursor = _walk(page.body, pagination.next_path) if pagination.next_path else None
        return list(subjects)

    async def probe(
        self, mapping: CompiledMapping, sample_subject: str | None = None
    ) -> ProbeReport:
        """Reachability, auth, and one sample fetch validated end to end. Never raises for
        a source problem: each step reports ok, failed or skipped with its duration."""
        steps: list[ProbeStep] = []
        reachable = await self._probe_reachability()
        steps.append(reachable)
        subject = sample_subject
        if not reachable.ok:
            steps.append(ProbeStep("auth", "skipped", "the source is not reachable"))
            steps.append(ProbeStep("sample", "skipped", "the source is not reachable"))
            return self._report(mapping, steps, subject)
        auth_step, listed = await self._probe_auth(mapping, need_subject=subject is None)
        steps.append(auth_step)
        subject = subject or listed
        if auth_step.status == "failed":
            steps.append(ProbeStep("sample", "skipped", "authentication failed"))
        elif subject is None:
            steps.append(
                ProbeStep(
                    "sample",
                    "skipped",
                    "no sample subject: give one, or add a sample block to the mapping",
                )
            )
        else:
            steps.append(await self._probe_sample(mapping, subject))
        return self._report(mapping, steps, subject)

    async def aclose(self) -> None:
        await self._client.aclose()

    # -- the guarded call: concurrency limit, total timeout, statistics

    async def _guarded(self, operation: Callable[[], Awaitable[T]]) -> T:
        stats = self.stats
        stats.requests += 1
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self._total):
                async with self._semaphore:
                    result = await operation()
        except TimeoutError:
            # A hang cut short by the total timeout is a failure of the source; an attempt
            # that was the half-open probe has already freed its slot.
            self.breaker.on_failure(False)
            error: ConnectorError = SourceTimeout(
                f"no answer within the total timeout of {self._total} s", system=self.system
            )
            stats.record_failure(error, time.perf_counter() - started)
            raise error from None
        except ConnectorError as exc:
            exc.system = self.system
            stats.record_failure(exc, time.perf_counter() - started)
            raise
        stats.record_success(time.perf_counter() - started)
        return result

    # -- attempts: breaker, retries

    async def _attempt(self, request: Callable[[], Awaitable[T]]) -> T:
        breaker = self.breaker
        attempt = 0
        while True:
            attempt += 1
            probe = breaker.before_call()
            self.stats.attempts += 1
            try:
                result = await request()
            except ConnectorError as error:
                if not error.retryable:
                    breaker.on_success(probe)
                    raise
                breaker.on_failure(probe)
                if attempt >= self._max_attempts:
                    raise
            except BaseException:
                # Cut short by the total timeout (the guard counts that), by the caller going
                # away, or a bug: no verdict on the source, but the probe slot must be freed.
                breaker.release(probe)
                raise
            else:
                breaker.on_success(probe)
                return result
            self.stats.retries += 1
            cap = min(self._backoff_max, self._backoff_base * (2 ** (attempt - 1)))
            await asyncio.sleep(cap / 2 + random.uniform(0, cap / 2))

    # -- HTTP

    async def _get(
        self, path: str, params: dict[str, Any] | None, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        """``client.get`` without the client: the same URL, headers and timeouts, straight to
        the transport. The client's request building, auth and redirect machinery and cookie
        jar cost more CPU than the transport itself, and a source call needs none of them
        (no redirects are followed, credentials are headers, sources set no cookies)."""
        merged = self._headers
        if headers:
            merged = httpx.Headers(merged)
            merged.update(headers)
        request = httpx.Request(
            "GET",
            self._base + path,
            params=params,
            headers=merged,
            extensions=self._extensions,
        )
        response = await self._transport.handle_async_request(request)
        try:
            await response.aread()
        finally:
            await response.aclose()
        return response

    async def _send(self, path: str, params: dict[str, Any] | None) -> httpx.Response:
        try:
            if self._token is None:
                return await self._get(path, params)
            headers, fresh = await self._token.headers()
            response = await self._get(path, params, headers)
            if response.status_code == 401 and not fresh:
                headers = await self._token.refresh(headers)
                response = await self._get(path, params, headers)
            return response
        # Details name the failure, never the path or body: they carry subject IDs, and
        # details end up in the health statistics.
        except httpx.TimeoutException as exc:
            raise SourceTimeout(
                _TIMEOUT_KINDS.get(type(exc), "timed out"), system=self.system
            ) from None
        except httpx.HTTPError as exc:
            raise SourceUnavailable(
                f"{type(exc).__name__} talking to the source", system=self.system
            ) from None

    async def _page(
        self,
        path: str,
        params: dict[str, Any] | None,
        records_at: tuple[str | int, ...],
        not_found: NotFoundSpec | None,
        objects: bool,
    ) -> _Page:
        async def request() -> _Page:
            response = await self._send(path, params)
            return self._interpret(response, records_at, not_found, objects)

        return await self._attempt(request)

    async def _collect(
        self,
        path: str,
        params: dict[str, Any] | None,
        records_at: tuple[str | int, ...],
        not_found: NotFoundSpec,
        pagination: Pagination | None,
    ) -> _Items:
        if pagination is None:
            items = (await self._page(path, params, records_at, not_found, True)).items
        else:
            items = []
            cursor: Any = None
            for page_number in range(MAX_PAGES):
                page_params = dict(params or {})
                _page_params(page_params, pagination, page_number, cursor)
                page = await self._page(path, page_params, records_at, not_found, True)
                items.extend(page.items)
                if not _has_more(page, pagination, page_number):
                    break
                cursor = _walk(page.body, pagination.next_path)
        if not items and not_found.empty:
            raise SubjectNotFound("the source has no record of this subject", system=self.system)
        return items

    def _interpret(
        self,
        response: httpx.Response,
        records_at: tuple[str | int, ...],
        not_found: NotFoundSpec | None,
        objects: bool,
    ) -> _Page:
        status = response.status_code
        system = self.system
        if not_found is not None and status in not_found.statuses:
            raise SubjectNotFound(f"the source answered {status}", system=system)
        if status >= 500:
            raise SourceUnavailable(f"the source answered {status}", system=system, status=status)
        try:
            body = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            if 200 <= status < 300:
                raise SourceMalformed(
                    f"the body is not JSON ({len(response.content)} bytes)", system=system
                ) from None
            body = None
        if not_found is not None and not_found.body_says_not_found(body):
            raise SubjectNotFound("the source says it has no such subject", system=system)
        if status in (401, 403):
            raise SourceAuthFailed(
                f"the source refused the credentials ({status})", system=system, status=status
            )
        if status >= 300:
            raise SourceRejected(
                f"the source refused the request ({status})", system=system, status=status
            )
        found = _walk(body, records_at) if records_at else body
        if found is None:
            return _Page([], body)
        if type(found) is dict:
            return _Page([found], body)
        if type(found) is list:
            if objects and any(type(item) is not dict for item in found):
                raise SourceMalformed("the record list holds non-objects", system=system)
            return _Page(found, body)
        raise SourceMalformed(
            f"records_at gives a {type(found).__name__}, not an object or a list", system=system
        )

    # -- probe steps

    async def _probe_reachability(self) -> ProbeStep:
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self._total):
                response = await self._client.get("/")
        except (TimeoutError, httpx.TimeoutException):
            return _failed("reachability", started, SourceTimeout("no answer in time"))
        except httpx.HTTPError as exc:
            return _failed(
                "reachability",
                started,
                SourceUnavailable(f"{type(exc).__name__}: {exc}"),
            )
        return ProbeStep(
            "reachability",
            "ok",
            f"{self.config.base_url} answered HTTP {response.status_code}",
            _ms(started),
        )

    async def _probe_auth(
        self, mapping: CompiledMapping, *, need_subject: bool
    ) -> tuple[ProbeStep, str | None]:
        started = time.perf_counter()
        listed: str | None = None
        try:
            if self._token is not None:
                async with asyncio.timeout(self._total):
                    await self._token.headers()
                detail = "obtained an OAuth2 access token"
                if need_subject and mapping.listing is not None:
                    listed = next(iter(await self.list_subjects(mapping, 1)), None)
            elif mapping.listing is not None:
                listed = next(iter(await self.list_subjects(mapping, 1)), None)
                detail = "listed subjects with the configured credentials"
            else:
                return (
                    ProbeStep(
                        "auth",
                        "skipped",
                        "checked by the sample fetch (no sample block to list subjects)",
                        _ms(started),
                    ),
                    None,
                )
        except TimeoutError:
            return _failed("auth", started, SourceTimeout("no answer in time")), None
        except ConnectorError as exc:
            return _failed("auth", started, exc), None
        if self.config.auth is None:
            detail += " (no credentials configured)"
        return ProbeStep("auth", "ok", detail, _ms(started)), listed

    async def _probe_sample(self, mapping: CompiledMapping, subject: str) -> ProbeStep:
        started = time.perf_counter()
        try:
            records = await self.fetch(mapping, subject)
        except SourceInvalidRecord as exc:
            codes = sorted({f"{i['path'] or '/'} {i['code']}" for i in exc.issues})
            return ProbeStep(
                "sample",
                "failed",
                "the sample record does not validate: " + "; ".join(codes[:10]),
                _ms(started),
                exc.code,
                exc.kind,
            )
        except ConnectorError as exc:
            return _failed("sample", started, exc)
        return ProbeStep(
            "sample",
            "ok",
            f"{len(records)} record(s) mapped and validated against "
            f"{mapping.record_type} {mapping.record_version}",
            _ms(started),
        )

    def _report(
        self, mapping: CompiledMapping, steps: list[ProbeStep], subject: str | None
    ) -> ProbeReport:
        return ProbeReport(
            self.system, mapping.record_type, tuple(steps), subject, datetime.now(UTC)
        )


def _page_params(
    params: dict[str, Any], pagination: Pagination, page_number: int, cursor: Any
) -> None:
    if pagination.size_param:
        params[pagination.size_param] = pagination.size
    if pagination.style == "page" and pagination.page_param:
        params[pagination.page_param] = pagination.first_page + page_number
    elif pagination.style == "offset" and pagination.offset_param:
        params[pagination.offset_param] = page_number * pagination.size
    elif pagination.style == "cursor" and pagination.cursor_param and cursor is not None:
        params[pagination.cursor_param] = cursor


def _has_more(page: _Page, pagination: Pagination, page_number: int) -> bool:
    if pagination.style == "cursor":
        # A cursor page may come back short, even empty, with more to follow.
        cursor = _walk(page.body, pagination.next_path)
        return cursor is not None and cursor != ""
    if not page.items:
        return False
    if pagination.total_path:
        total = _walk(page.body, pagination.total_path)
        if isinstance(total, int | float) and not isinstance(total, bool):
            return (page_number + 1) * pagination.size < total
    return len(page.items) >= pagination.size


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _failed(name: str, started: float, error: ConnectorError) -> ProbeStep:
    return ProbeStep(name, "failed", error.detail, _ms(started), error.code, error.kind)
