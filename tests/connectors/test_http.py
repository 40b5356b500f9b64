"""HttpConnector over real HTTP against the four mock source systems (separate processes,
the ``mock_servers`` fixture of tests/conftest.py): mapping and validation per system,
credentials, every injected fault, retries, the circuit breaker, listing and the probe.

Token lifetimes and breaker windows pass on a fake clock, not in real time; timeouts are short
so the module runs in seconds; nothing asserts on timing, and every loop is bounded.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from connectors.base import ConnectorConfig, HttpConnector, SourceRecord
from connectors.errors import (
    BreakerOpen,
    SourceAuthFailed,
    SourceInvalidRecord,
    SourceMalformed,
    SourceTimeout,
    SourceUnavailable,
    SubjectNotFound,
)
from connectors.mapping import CompiledMapping, compile_mapping
from connectors.systems import ADAPTERS, adapter
from dictionary import Dictionary, load_dictionary
from tests.helpers.clock import FakeClock

# The record types every demo citizen has in each system.
PRIMARY = {
    "population": ("Person", "Residence"),
    "civil_status": ("BirthRegistration", "MarriageRegistration"),
    "land": ("LandParcel", "LandUseRightCertificate"),
    "tax": ("Taxpayer", "TaxObligationStatus"),
}


@pytest.fixture(scope="module")
def dictionary() -> Dictionary:
    return load_dictionary()


@pytest.fixture(scope="module")
def mappings(dictionary: Dictionary) -> dict[str, CompiledMapping]:
    """Every shipped mapping, compiled once, by record type."""
    compiled = {}
    for kind in ADAPTERS.values():
        for spec in kind.load_mappings():
            mapping = compile_mapping(spec, dictionary)
            compiled[mapping.record_type] = mapping
    return compiled


@pytest.fixture
def mocks(mock_servers: Any) -> Iterator[Any]:
    """The mocks, reset before (by the fixture) and after each test."""
    yield mock_servers
    mock_servers.reset()


@pytest.fixture
def citizens(mock_servers: Any) -> list[str]:
    return list(mock_servers.dataset.demo_citizens(3))


def config(mocks: Any, system: str, **overrides: Any) -> ConnectorConfig:
    values: dict[str, Any] = {
        "system": system,
        "base_url": mocks.url(adapter(system).mock_name),
        "auth": mocks.auth(adapter(system).mock_name),
        "timeouts": {"connect": 0.5, "read": 0.3, "total": 2.0},
        "retries": {"max_attempts": 3, "backoff_base": 0.01, "backoff_max": 0.05},
        "breaker": {"failure_threshold": 50, "window": 50, "min_calls": 50, "open_seconds": 0.3},
        "max_concurrency": 8,
    }
    values.update(overrides)
    return ConnectorConfig.model_validate(values)


@pytest.fixture
async def population(mocks: Any) -> AsyncIterator[HttpConnector]:
    connector = HttpConnector(config(mocks, "population"))
    yield connector
    await connector.aclose()


async def served(mocks: Any, system: str) -> int:
    """How many source requests the mock has served so far (GET /__stats)."""
    async with httpx.AsyncClient(base_url=mocks.url(adapter(system).mock_name)) as http:
        response = await http.get("/__stats")
        response.raise_for_status()
        count: int = response.json()["requests"]
        return count


async def tokens_issued(mocks: Any, system: str) -> int:
    async with httpx.AsyncClient(base_url=mocks.url(adapter(system).mock_name)) as http:
        count: int = (await http.get("/__stats")).json()["tokens_issued"]
        return count


# -- each system: fetch, map, validate


@pytest.mark.parametrize("system", sorted(PRIMARY))
async def test_each_system_gives_records_that_map_and_validate(
    mocks: Any, mappings: dict[str, CompiledMapping], citizens: list[str], system: str
) -> None:
    connector = HttpConnector(config(mocks, system))
    try:
        for record_type in PRIMARY[system]:
            mapping = mappings[record_type]
            subject = citizens[0]
            if record_type == "TaxObligationStatus":
                (taxpayer,) = await connector.fetch(mappings["Taxpayer"], subject)
                subject = taxpayer.data["tax_code"]
            records = await connector.fetch(mapping, subject)

            assert records, record_type
            for record in records:
                assert isinstance(record, SourceRecord)
                assert record.record_type == record_type
                assert record.version == mapping.record_version
                assert mapping.validator.validate(record.data) == []
                assert record.raw_reference
                assert record.last_updated is not None
        others = [rt for rt in ADAPTERS[system].record_types if rt not in PRIMARY[system]]
        for record_type in others:  # not every citizen has these; those found must validate
            for subject in citizens:
                try:
                    records = await connector.fetch(mappings[record_type], subject)
                except SubjectNotFound:
                    continue
                assert all(r.record_type == record_type for r in records)
    finally:
        await connector.aclose()


async def test_a_subject_the_source_does_not_know_is_not_found_without_retries(
    mocks: Any, population: HttpConnector, mappings: dict[str, CompiledMapping]
) -> None:
    before = await served(mocks, "population")
    with pytest.raises(SubjectNotFound) as raised:
        await population.fetch(mappings["Person"], "999999999999")
    assert raised.value.code == "subject_not_found"
    assert await served(mocks, "population") - before == 1
    assert population.stats.snapshot()["errors"]["not_found"] == 1


# -- credentials


async def test_a_wrong_api_key_is_an_auth_failure_never_retried(
    mocks: Any, mappings: dict[str, CompiledMapping], citizens: list[str]
) -> None:
    auth = {**mocks.auth("population"), "key": "not-the-key"}
    connector = HttpConnector(config(mocks, "population", auth=auth))
    before = await served(mocks, "population")
    try:
        with pytest.raises(SourceAuthFailed) as raised:
            await connector.fetch(mappings["Person"], citizens[0])
    finally:
        await connector.aclose()
    assert raised.value.code == "source_unavailable"
    assert raised.value.kind == "auth"
    assert await served(mocks, "population") - before == 1
    assert "not-the-key" not in repr(connector.config)


async def test_oauth2_survives_tokens_expiring_in_the_middle_of_a_run(
    mocks: Any, mappings: dict[str, CompiledMapping], citizens: list[str]
) -> None:
    # 12 s of the fake clock between fetches: the 60 s tokens expire twice along the way, at
    # the source (told when its tokens run out) as on the connector's clock.
    mocks.set_faults("civil-status", token_ttl_seconds=60)
    auth = {**mocks.auth("civil-status"), "refresh_margin_seconds": 0}
    clock = FakeClock()
    connector = HttpConnector(config(mocks, "civil_status", auth=auth), clock=clock)
    before = await tokens_issued(mocks, "civil_status")
    try:
        for step in range(12):
            if step and step % 5 == 0:
                mocks.expire_tokens("civil-status")
            records = await connector.fetch(mappings["BirthRegistration"], citizens[0])
            assert records
            clock.advance(12)
    finally:
        await connector.aclose()
    assert await tokens_issued(mocks, "civil_status") - before >= 2
    assert connector.stats.snapshot()["errors"]["auth"] == 0
    assert "401" not in mocks.stats("civil-status")["by_status"]  # renewed before, not after


async def test_a_401_on_a_cached_token_refreshes_it_once_and_retries(
    mocks: Any, mappings: dict[str, CompiledMapping], citizens: list[str]
) -> None:
    # The connector's clock stands still, so it believes its token fresh after the source
    # has expired it: the source's 401 is what makes it refresh.
    connector = HttpConnector(config(mocks, "tax"), clock=FakeClock())
    try:
        await connector.fetch(mappings["Taxpayer"], citizens[0])
        issued = await tokens_issued(mocks, "tax")
        assert mocks.expire_tokens("tax") >= 1
        (record,) = await connector.fetch(mappings["Taxpayer"], citizens[0])
    finally:
        await connector.aclose()
    assert record.data["citizen_id"] == citizens[0] or "citizen_id" not in record.data
    assert await tokens_issued(mocks, "tax") == issued + 1
    assert connector.stats.snapshot()["errors"]["auth"] == 0


async def test_wrong_client_credentials_are_an_auth_failure(
    mocks: Any, mappings: dict[str, CompiledMapping], citizens: list[str]
) -> None:
    auth = {**mocks.auth("tax"), "client_secret": "wrong-secret"}
    connector = HttpConnector(config(mocks, "tax", auth=auth))
    try:
        with pytest.raises(SourceAuthFailed):
            await connector.fetch(mappings["Taxpayer"], citizens[0])
    finally:
        await connector.aclose()
    assert connector.stats.snapshot()["last_failure"]["kind"] == "auth"


# -- injected faults, each with its documented code


async def test_latency_beyond_the_read_timeout_is_a_source_timeout(
    mocks: Any, population: HttpConnector, mappings: dict[str, CompiledMapping], citizens: list[str]
) -> None:
    mocks.set_faults("population", latency_ms=1000)
    with pytest.raises(SourceTimeout) as raised:
        await population.fetch(mappings["Person"], citizens[0])
    assert raised.value.code == "source_timeout"
    assert population.stats.snapshot()["errors"]["timeout"] == 1


async def test_a_hang_is_a_source_timeout_within_the_total_timeout(
    mocks: Any, mappings: dict[str, CompiledMapping], citizens: list[str]
) -> None:
    mocks.set_faults("population", hang_rate=1.0, hang_seconds=5)
    connector = HttpConnector(
        config(
            mocks,
            "population",
            timeouts={"connect": 0.5, "read": 0.5, "total": 0.6},
            retries={"max_attempts": 5, "backoff_base": 0.01, "backoff_max": 0.02},
        )
    )
    try:
        with pytest.raises(SourceTimeout) as raised:
            await connector.fetch(mappings["Person"], citizens[0])
    finally:
        await connector.aclose()
    assert raised.value.code == "source_timeout"


async def test_a_failing_source_is_unavailable_after_exactly_max_attempts(
    mocks: Any, population: HttpConnector, mappings: dict[str, CompiledMapping], citizens: list[str]
) -> None:
    mocks.set_faults("population", error_rate=1.0)
    before = await served(mocks, "population")
    with pytest.raises(SourceUnavailable) as raised:
        await population.fetch(mappings["Person"], citizens[0])
    assert raised.value.code == "source_unavailable"
    assert raised.value.kind == "unavailable"
    assert await served(mocks, "population") - before == 3
    snapshot = population.stats.snapshot()
    assert (snapshot["attempts"], snapshot["retries"]) == (3, 2)


async def test_a_malformed_body_is_source_unavailable_and_retried(
    mocks: Any, population: HttpConnector, mappings: dict[str, CompiledMapping], citizens: list[str]
) -> None:
    mocks.set_faults("population", malformed_rate=1.0)
    before = await served(mocks, "population")
    with pytest.raises(SourceMalformed) as raised:
        await population.fetch(mappings["Person"], citizens[0])
    assert raised.value.code == "source_unavailable"
    assert raised.value.kind == "malformed"
    assert await served(mocks, "population") - before == 3


async def test_schema_drift_is_an_invalid_record_listing_the_issues_never_retried(
    mocks: Any, population: HttpConnector, mappings: dict[str, CompiledMapping], citizens: list[str]
) -> None:
    mocks.set_faults("population", drift={"hoVaTen": "hoTen"})
    before = await served(mocks, "population")
    with pytest.raises(SourceInvalidRecord) as raised:
        await population.fetch(mappings["Person"], citizens[0])
    assert raised.value.code == "source_invalid_record"
    assert [(i["path"], i["code"]) for i in raised.value.issues] == [("/full_name", "required")]
    assert await served(mocks, "population") - before == 1
    assert population.stats.snapshot()["errors"]["invalid"] == 1


# -- the circuit breaker


def breaker_connector(mocks: Any, failure_threshold: int, clock: FakeClock) -> HttpConnector:
    """A population connector with no retries, so each fetch is one breaker call; its breaker
    stays open 30 s of ``clock``."""
    breaker = {
        "failure_threshold": failure_threshold,
        "window": 10,
        "min_calls": 10,
        "open_seconds": 30,
    }
    return HttpConnector(
        config(mocks, "population", retries={"max_attempts": 1}, breaker=breaker), clock=clock
    )


async def test_the_breaker_opens_fails_fast_half_opens_and_closes(
    mocks: Any, mappings: dict[str, CompiledMapping], citizens: list[str]
) -> None:
    clock = FakeClock()
    connector = breaker_connector(mocks, failure_threshold=2, clock=clock)
    person = mappings["Person"]
    try:
        mocks.set_faults("population", error_rate=1.0)
        for _ in range(2):
            with pytest.raises(SourceUnavailable):
                await connector.fetch(person, citizens[0])
        assert connector.breaker.state == "open"

        before = await served(mocks, "population")
        with pytest.raises(BreakerOpen) as raised:
            await connector.fetch(person, citizens[0])
        assert raised.value.code == "source_unavailable"
        assert raised.value.retry_after == 30
        assert await served(mocks, "population") == before  # failed fast: nothing sent

        clock.advance(30)
        assert connector.breaker.state == "half_open"
        with pytest.raises(SourceUnavailable):  # the probe fails: open again
            await connector.fetch(person, citizens[0])
        assert connector.breaker.state == "open"

        mocks.set_faults("population")
        clock.advance(30)
        assert await connector.fetch(person, citizens[0])  # the probe succeeds: closed
        assert connector.breaker.state == "closed"
        assert await connector.fetch(person, citizens[0])
    finally:
        await connector.aclose()
    snapshot = connector.stats.snapshot()
    assert snapshot["breaker"]["state"] == "closed"
    assert snapshot["breaker"]["times_opened"] == 2
    assert snapshot["errors"]["breaker_open"] == 1


async def test_only_one_probe_passes_a_half_open_breaker(
    mocks: Any, mappings: dict[str, CompiledMapping], citizens: list[str]
) -> None:
    clock = FakeClock()
    connector = breaker_connector(mocks, failure_threshold=1, clock=clock)
    person = mappings["Person"]
    try:
        mocks.set_faults("population", error_rate=1.0)
        with pytest.raises(SourceUnavailable):
            await connector.fetch(person, citizens[0])
        mocks.set_faults("population", latency_ms=100)
        clock.advance(30)
        results = await asyncio.gather(
            *(connector.fetch(person, citizens[0]) for _ in range(5)), return_exceptions=True
        )
    finally:
        await connector.aclose()
    passed = [r for r in results if isinstance(r, list)]
    refused = [r for r in results if isinstance(r, BreakerOpen)]
    assert (len(passed), len(refused)) == (1, 4)
    assert connector.breaker.state == "closed"


# -- listing, probe, statistics


@pytest.mark.parametrize(
    ("record_type", "system"),
    [("Person", "population"), ("BirthRegistration", "civil_status"), ("LandParcel", "land")],
)
async def test_list_subjects_follows_the_sources_pagination(
    mocks: Any, mappings: dict[str, CompiledMapping], record_type: str, system: str
) -> None:
    mapping = mappings[record_type]
    assert mapping.listing is not None and mapping.listing.pagination is not None
    connector = HttpConnector(config(mocks, system))
    try:
        subjects = await connector.list_subjects(mapping, 250)
        first = await connector.list_subjects(mapping, 5)
    finally:
        await connector.aclose()
    assert len(subjects) == len(set(subjects)) == 250
    assert subjects[:5] == first
    assert connector.stats.snapshot()["requests"] >= 3  # more than one page


async def test_the_probe_checks_reachability_auth_and_a_sample_end_to_end(
    mocks: Any, population: HttpConnector, mappings: dict[str, CompiledMapping]
) -> None:
    report = await population.probe(mappings["Person"])
    body = report.as_dict()
    assert report.ok, body
    assert [s["step"] for s in body["steps"]] == ["reachability", "auth", "sample"]
    assert all(s["ok"] and s["elapsed_ms"] >= 0 for s in body["steps"])
    assert body["sample_subject"]


async def test_a_failed_probe_says_which_step_failed_and_why(
    mocks: Any, mappings: dict[str, CompiledMapping], citizens: list[str]
) -> None:
    wrong_key = HttpConnector(
        config(mocks, "land", auth={**mocks.auth("land"), "key": "not-the-key"})
    )
    unreachable = HttpConnector(config(mocks, "tax", base_url="http://127.0.0.1:9"))
    drifting = HttpConnector(config(mocks, "population"))
    mocks.set_faults("population", drift={"ngaySinh": "ngaySinhCu"})
    try:
        refused = await wrong_key.probe(mappings["LandParcel"], citizens[0])
        down = await unreachable.probe(mappings["Taxpayer"])
        invalid = await drifting.probe(mappings["Person"], citizens[0])
    finally:
        for connector in (wrong_key, unreachable, drifting):
            await connector.aclose()

    assert not refused.ok
    assert [(s.step, s.status, s.kind) for s in refused.steps] == [
        ("reachability", "ok", None),
        ("auth", "failed", "auth"),
        ("sample", "skipped", None),
    ]
    assert not down.ok
    assert [(s.step, s.status) for s in down.steps] == [
        ("reachability", "failed"),
        ("auth", "skipped"),
        ("sample", "skipped"),
    ]
    assert not invalid.ok
    assert invalid.steps[-1].code == "source_invalid_record"
    assert "date_of_birth" in invalid.steps[-1].detail


async def test_statistics_count_requests_errors_latency_and_the_last_outcomes(
    mocks: Any, population: HttpConnector, mappings: dict[str, CompiledMapping], citizens: list[str]
) -> None:
    for citizen in citizens:
        await population.fetch(mappings["Person"], citizen)
    with pytest.raises(SubjectNotFound):
        await population.fetch(mappings["Person"], "999999999999")

    snapshot = population.stats.snapshot()

    assert snapshot["system"] == "population"
    assert snapshot["requests"] == len(citizens) + 1
    assert snapshot["successes"] == len(citizens)
    assert snapshot["errors"]["not_found"] == 1 and snapshot["error_total"] == 1
    latency = snapshot["latency_ms"]
    assert latency["samples"] == len(citizens) + 1
    assert 0 < latency["p50"] <= latency["p95"] <= latency["p99"]
    assert snapshot["last_success"] is not None
    assert snapshot["last_failure"]["kind"] == "not_found"
    assert snapshot["breaker"]["state"] == "closed"


class PeakCounter(httpx.AsyncBaseTransport):
    """A real TCP transport that records how many requests were in flight at once."""

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self.active = 0
        self.peak = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.active += 1
        self.peak = max(self.peak, self.active)
        try:
            return await self._inner.handle_async_request(request)
        finally:
            self.active -= 1

    async def aclose(self) -> None:
        await self._inner.aclose()


async def test_the_concurrency_limit_bounds_requests_in_flight_per_source(
    mocks: Any, mappings: dict[str, CompiledMapping], citizens: list[str]
) -> None:
    mocks.set_faults("population", latency_ms=50)
    counter = PeakCounter()
    connector = HttpConnector(config(mocks, "population", max_concurrency=2), transport=counter)
    try:
        results = await asyncio.gather(
            *(connector.fetch(mappings["Person"], citizens[i % 3]) for i in range(8))
        )
    finally:
        await connector.aclose()
    assert all(results)
    assert counter.peak == 2


async def test_a_garbled_content_length_is_source_unavailable_not_a_crash(
    mappings: dict[str, CompiledMapping],
) -> None:
    from app.sources.transport import LeanTransport

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: twelve\r\n\r\n{}")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    settings = ConnectorConfig.model_validate(
        {
            "system": "population",
            "base_url": f"http://127.0.0.1:{port}",
            "auth": {"kind": "api_key", "key": "k"},
            "retries": {"max_attempts": 2, "backoff_base": 0.01, "backoff_max": 0.01},
        }
    )
    connector = HttpConnector(settings, LeanTransport())
    try:
        with pytest.raises(SourceUnavailable) as raised:
            await connector.fetch(mappings["Person"], "001085012345")
        assert raised.value.code == "source_unavailable"
        assert connector.stats.attempts == 2
    finally:
        await connector.aclose()
        server.close()
