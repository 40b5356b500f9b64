"""Probing a source: reachability, auth, and one sample fetch validated end to end.

``ProbeMixin`` holds ``HttpConnector.probe`` and its steps; it uses the connector's client,
token, total timeout, ``fetch`` and ``list_subjects``.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import httpx

from connectors.base.config import ConnectorConfig
from connectors.base.oauth2 import _OAuth2Token
from connectors.base.results import ProbeReport, ProbeStep, SourceRecord
from connectors.errors import ConnectorError, SourceInvalidRecord, SourceTimeout, SourceUnavailable
from connectors.mapping import CompiledMapping


class ProbeMixin:
    """The probe of an ``HttpConnector``."""

    system: str
    config: ConnectorConfig
    _total: float
    _client: httpx.AsyncClient
    _token: _OAuth2Token | None

    if TYPE_CHECKING:

        async def fetch(self, mapping: CompiledMapping, subject_id: str) -> list[SourceRecord]: ...

        async def list_subjects(self, mapping: CompiledMapping, limit: int) -> list[str]: ...

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
        record_type = mapping.record_type
        return ProbeReport(
            self.system,
            record_type,
            tuple(replace(step, record_type=record_type) for step in steps),
            subject,
            datetime.now(UTC),
        )


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _failed(name: str, started: float, error: ConnectorError) -> ProbeStep:
    return ProbeStep(name, "failed", error.detail, _ms(started), error.code, error.kind)
