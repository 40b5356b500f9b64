"""The Connector protocol and its HTTP implementation, ``HttpConnector``.

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
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any, Protocol, TypeVar, runtime_checkable

import httpx
import orjson

from connectors.base.breaker import CircuitBreaker
from connectors.base.config import ApiKeyAuth, ConnectorConfig, OAuth2ClientCredentials
from connectors.base.oauth2 import _OAuth2Token
from connectors.base.probe import ProbeMixin
from connectors.base.results import ProbeReport, SourceRecord
from connectors.base.stats import ConnectorStats
from connectors.errors import (
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
from connectors.mapping.feed import CompiledFeed
from connectors.mapping.write import SourceRequest

USER_AGENT = "declare-once-hub/0.1"
MAX_PAGES = 1_000

T = TypeVar("T")
_TIMEOUT_KINDS: dict[type[Exception], str] = {
    httpx.ConnectTimeout: "connect timeout",
    httpx.ReadTimeout: "read timeout",
    httpx.WriteTimeout: "write timeout",
    httpx.PoolTimeout: "no free connection in time",
}


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


@dataclass(frozen=True, slots=True)
class WriteResponse:
    """What a system answered to a write: its status and JSON body (None if not JSON)."""

    status: int
    body: Any


@dataclass
class _Page:
    items: _Items
    body: Any = field(repr=False, default=None)


class HttpConnector(ProbeMixin):
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
        if limit <= 0:
            return []
        subjects: dict[str, None] = {}

        def take(page: _Page) -> bool:
            for item in page.items:
                subject = _walk(item, listing.subject_at) if listing.subject_at else item
                if subject is not None and subject != "":
                    subjects[str(subject)] = None
                    if len(subjects) >= limit:
                        return False
            return True

        async def read(params: dict[str, Any] | None) -> _Page:
            return await self._guarded(
                partial(self._page, listing.path, params, listing.records_at, None, False)
            )

        await self._paged(dict(listing.params), listing.pagination, read, take)
        return list(subjects)

    async def read_feed(self, feed: CompiledFeed, after: int) -> tuple[list[Any], Any]:
        """One page of the system's change feed after sequence ``after``: its entries and
        the whole body (for the last sequence the system holds)."""
        page = await self._guarded(
            partial(self._page, feed.path, feed.params(after), feed.entries_at, None, True)
        )
        return list(page.items), page.body

    async def write(self, request: SourceRequest) -> WriteResponse:
        """Send one write (a delivery or a correction request) once: no retry here, the
        hub's outbox decides when to try again. Any HTTP answer is returned, for the caller
        to read as the system's decision; raises SourceTimeout, SourceUnavailable or
        BreakerOpen when there is no answer to read."""

        async def attempt() -> WriteResponse:
            breaker = self.breaker
            probe = breaker.before_call()
            self.stats.attempts += 1
            try:
                response = await self._send(
                    request.path,
                    request.params or None,
                    method=request.method,
                    headers=request.headers,
                    content=orjson.dumps(request.body),
                )
            except ConnectorError:
                breaker.on_failure(probe)
                raise
            except BaseException:
                breaker.release(probe)
                raise
            if response.status_code >= 500:
                breaker.on_failure(probe)
            else:
                breaker.on_success(probe)
            try:
                body = orjson.loads(response.content) if response.content else None
            except orjson.JSONDecodeError:
                body = None
            return WriteResponse(response.status_code, body)

        return await self._guarded(attempt)

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
        self,
        path: str,
        params: dict[str, Any] | None,
        headers: dict[str, str] | None = None,
        *,
        method: str = "GET",
        content: bytes | None = None,
    ) -> httpx.Response:
        """``client.get`` without the client: the same URL, headers and timeouts, straight to
        the transport. The client's request building, auth and redirect machinery and cookie
        jar cost more CPU than the transport itself, and a source call needs none of them
        (no redirects are followed, credentials are headers, sources set no cookies)."""
        merged = self._headers
        if headers or content is not None:
            merged = httpx.Headers(merged)
            merged.update(headers or {})
            if content is not None:
                merged["Content-Type"] = "application/json"
        request = httpx.Request(
            method,
            self._base + path,
            params=params,
            headers=merged,
            content=content,
            extensions=self._extensions,
        )
        response = await self._transport.handle_async_request(request)
        try:
            await response.aread()
        finally:
            await response.aclose()
        return response

    async def _send(
        self,
        path: str,
        params: dict[str, Any] | None,
        *,
        method: str = "GET",
        headers: dict[str, str] | None = None,
        content: bytes | None = None,
    ) -> httpx.Response:
        extra = dict(headers or {})
        try:
            if self._token is None:
                return await self._get(path, params, extra, method=method, content=content)
            token, fresh = await self._token.headers()
            response = await self._get(
                path, params, {**extra, **token}, method=method, content=content
            )
            if response.status_code == 401 and not fresh:
                token = await self._token.refresh(token)
                response = await self._get(
                    path, params, {**extra, **token}, method=method, content=content
                )
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
        items: _Items = []

        async def read(page_params: dict[str, Any] | None) -> _Page:
            return await self._page(path, page_params, records_at, not_found, True)

        def take(page: _Page) -> bool:
            items.extend(page.items)
            return True

        await self._paged(params, pagination, read, take)
        if not items and not_found.empty:
            raise SubjectNotFound("the source has no record of this subject", system=self.system)
        return items

    async def _paged(
        self,
        params: dict[str, Any] | None,
        pagination: Pagination | None,
        read: Callable[[dict[str, Any] | None], Awaitable[_Page]],
        take: Callable[[_Page], bool],
    ) -> None:
        """The one paging loop: read pages (a single one without ``pagination``) and hand
        each to ``take`` until the source has no more, ``take`` has enough (it answers
        False) or ``MAX_PAGES`` were read."""
        cursor: Any = None
        for page_number in range(MAX_PAGES if pagination is not None else 1):
            page_params = params
            if pagination is not None:
                page_params = dict(params or {})
                _page_params(page_params, pagination, page_number, cursor)
            page = await read(page_params)
            if not take(page) or pagination is None:
                return
            if not _has_more(page, pagination, page_number):
                return
            cursor = _walk(page.body, pagination.next_path) if pagination.next_path else None

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
