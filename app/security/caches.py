"""What the security domain keeps in memory on each instance: verified API keys and each
client's access rights, each for a short lifetime, each loaded once under concurrent misses.
A change made by an admin reaches every instance within that lifetime; the instance that
made it evicts at once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.security import keys
from app.security.errors import InvalidApiKey
from app.security.models import ApiClient, ApiKey
from app.security.roles import ClientPrincipal
from app.security.service import LAST_USED_RESOLUTION, access_rights_of
from app.timestamps import utcnow

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")


class SingleFlight(Generic[K, T]):
    """Concurrent loads of one key share one call: the first caller runs it, the others
    wait for its answer or its error. The caches of the hot data path use it, so an expiry
    under load costs one database read, not one per waiting request."""

    def __init__(self) -> None:
        self._loading: dict[K, asyncio.Future[T]] = {}

    async def run(self, key: K, load: Callable[[], Awaitable[T]]) -> T:
        loading = self._loading.get(key)
        if loading is not None:
            return await asyncio.shield(loading)
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._loading[key] = future
        try:
            result = await load()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters get it, nobody logs it as lost
            raise
        else:
            future.set_result(result)
            return result
        finally:
            del self._loading[key]


@dataclass(slots=True)
class _CachedKey:
    principal: ClientPrincipal
    key_hash: str
    expires: float
    last_used_written: float


class KeyAuthenticator:
    """Verifies API keys, caching a verified key for a short time in this instance.

    The cache keeps the hot data path off the database. Its lifetime bounds how long a key
    revoked on another instance keeps working here; a revocation on this instance evicts it.
    When an entry expires under load, the requests that present the same key at that moment
    share one database read instead of each running its own.
    """

    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], cache_seconds: float
    ) -> None:
        self._sessionmaker = sessionmaker
        self._cache_seconds = cache_seconds
        self._cache: dict[str, _CachedKey] = {}
        self._loading: SingleFlight[str, ClientPrincipal] = SingleFlight()

    def evict_client(self, client_id: str) -> None:
        for prefix, entry in list(self._cache.items()):
            if entry.principal.client_id == client_id:
                del self._cache[prefix]

    async def authenticate(self, plaintext: str) -> ClientPrincipal:
        prefix = keys.parse_prefix(plaintext)
        if prefix is None:
            raise InvalidApiKey("The API key is malformed.")
        now = time.monotonic()
        entry = self._cache.get(prefix)
        if entry is not None and entry.expires > now:
            if not keys.matches(plaintext, entry.key_hash):
                raise InvalidApiKey("The API key is not valid.")
            if now - entry.last_used_written > LAST_USED_RESOLUTION.total_seconds():
                entry.last_used_written = now
                await self._touch(entry.principal.key_id)
            return entry.principal

        async def load() -> ClientPrincipal:
            principal, key_hash, age = await self._load(prefix, plaintext)
            self._cache[prefix] = _CachedKey(
                principal, key_hash, now + self._cache_seconds, now - age
            )
            return principal

        # Keyed by the whole key: only callers presenting the very same key share the answer.
        return await self._loading.run(plaintext, load)

    async def _load(self, prefix: str, plaintext: str) -> tuple[ClientPrincipal, str, float]:
        """The key's principal and hash, and how many seconds ago last_used_at was written."""
        async with self._sessionmaker() as session:
            row = (
                await session.execute(
                    select(ApiKey, ApiClient)
                    .join(ApiClient, ApiClient.id == ApiKey.client_id)
                    .where(ApiKey.prefix == prefix)
                )
            ).first()
            # The same answer for an unknown, wrong or revoked key: no oracle for guessing.
            if row is None:
                keys.matches(plaintext, "0" * 64)
                raise InvalidApiKey("The API key is not valid.")
            key, client = row
            if (
                not keys.matches(plaintext, key.key_hash)
                or key.revoked_at is not None
                or client.disabled_at is not None
            ):
                raise InvalidApiKey("The API key is not valid.")
            # A reload (every cache lifetime) writes only when the stored time is older than
            # the resolution, as a cache hit does: no write transaction every few seconds.
            now = utcnow()
            last = key.last_used_at
            age = (now - last).total_seconds() if last is not None else None
            if age is None or age > LAST_USED_RESOLUTION.total_seconds():
                key.last_used_at = now
                await session.commit()
                age = 0.0
            principal = ClientPrincipal(
                client_id=client.id,
                name=client.name,
                agency=client.agency,
                roles=frozenset(client.roles),
                key_id=key.id,
            )
            return principal, key.key_hash, max(0.0, age)

    async def _touch(self, key_id: str) -> None:
        async with self._sessionmaker() as session:
            await session.execute(
                update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=utcnow())
            )
            await session.commit()


@dataclass(frozen=True, slots=True)
class AccessGrant:
    record_type: str
    fields: frozenset[str]
    purposes: frozenset[str]
    legal_basis: str | None


class AccessRightsCache:
    """A client's access rights, read in one query and kept for ``ttl`` seconds.

    The lifetime is the auth cache's: a change of rights made by an admin reaches every
    instance within it, as a key revocation does. The read uses its own short session, so
    a pull never holds a database connection while it waits on the source or the access
    log, and concurrent misses for one client share one query.
    """

    def __init__(self, ttl: float) -> None:
        self._ttl = ttl
        self._entries: dict[str, tuple[float, tuple[AccessGrant, ...]]] = {}
        self._loading: SingleFlight[str, tuple[AccessGrant, ...]] = SingleFlight()

    def evict(self, client_id: str) -> None:
        self._entries.pop(client_id, None)

    async def grants(
        self, sessionmaker: async_sessionmaker[AsyncSession], client_id: str
    ) -> tuple[AccessGrant, ...]:
        now = time.monotonic()
        cached = self._entries.get(client_id)
        if cached is not None and cached[0] > now:
            return cached[1]

        async def load() -> tuple[AccessGrant, ...]:
            async with sessionmaker() as session:
                rows = await access_rights_of(session, client_id)
            grants = tuple(
                AccessGrant(
                    record_type=row.record_type,
                    fields=frozenset(row.fields),
                    purposes=frozenset(row.purposes),
                    legal_basis=row.legal_basis,
                )
                for row in rows
            )
            if self._ttl > 0:
                self._entries[client_id] = (time.monotonic() + self._ttl, grants)
            return grants

        return await self._loading.run(client_id, load)
