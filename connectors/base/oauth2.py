"""The OAuth2 client-credentials token of a source: cached, refreshed one at a time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import httpx
import orjson

from connectors.base.config import OAuth2ClientCredentials
from connectors.errors import SourceAuthFailed, SourceMalformed, SourceTimeout, SourceUnavailable

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
