"""Clients, keys, access rights and procedure grants: the logic, with no HTTP in it."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Generic, TypeVar

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.errors import Conflict, NotFound, Unauthenticated, Unprocessable
from app.security import keys
from app.security.models import AccessRight, ApiClient, ApiKey, ProcedureGrant
from app.security.roles import ClientPrincipal, Role
from app.security.schemas import PURPOSE_PATTERN, AccessRightIn
from dictionary import Dictionary

_PURPOSE = re.compile(PURPOSE_PATTERN)
LAST_USED_RESOLUTION = timedelta(seconds=60)

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")


def utcnow() -> datetime:
    return datetime.now(UTC)


async def create_client(
    session: AsyncSession, *, name: str, agency: str, roles: Sequence[Role]
) -> tuple[ApiClient, ApiKey, str]:
    """Create a client with its first key. The plaintext key is returned once, never stored."""
    existing = await session.scalar(select(ApiClient.id).where(ApiClient.name == name))
    if existing is not None:
        raise Conflict(f"A client named {name!r} already exists.", code="client_exists")
    now = utcnow()
    client = ApiClient(
        id=str(uuid.uuid4()),
        name=name,
        agency=agency,
        roles=sorted({Role(r).value for r in roles}),
        created_at=now,
    )
    session.add(client)
    await session.flush()
    key, plaintext = await _add_key(session, client.id, now)
    await session.commit()
    return client, key, plaintext


async def _add_key(session: AsyncSession, client_id: str, now: datetime) -> tuple[ApiKey, str]:
    new = keys.generate_key()
    key = ApiKey(
        id=str(uuid.uuid4()),
        client_id=client_id,
        prefix=new.prefix,
        key_hash=new.key_hash,
        created_at=now,
    )
    session.add(key)
    await session.flush()
    return key, new.plaintext


async def issue_key(session: AsyncSession, client_id: str) -> tuple[ApiKey, str]:
    await get_client(session, client_id)
    key, plaintext = await _add_key(session, client_id, utcnow())
    await session.commit()
    return key, plaintext


async def revoke_key(session: AsyncSession, client_id: str, key_id: str) -> ApiKey:
    key = await session.get(ApiKey, key_id)
    if key is None or key.client_id != client_id:
        raise NotFound(f"No key {key_id} for client {client_id}.", code="key_not_found")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        await session.commit()
    return key


async def get_client(session: AsyncSession, client_id: str) -> ApiClient:
    client = await session.get(ApiClient, client_id)
    if client is None:
        raise NotFound(f"No client {client_id}.", code="client_not_found")
    return client


async def list_clients(session: AsyncSession) -> list[tuple[ApiClient, list[ApiKey]]]:
    clients = (await session.scalars(select(ApiClient).order_by(ApiClient.created_at))).all()
    all_keys = (await session.scalars(select(ApiKey).order_by(ApiKey.created_at))).all()
    by_client: dict[str, list[ApiKey]] = {}
    for key in all_keys:
        by_client.setdefault(key.client_id, []).append(key)
    return [(client, by_client.get(client.id, [])) for client in clients]


async def keys_of(session: AsyncSession, client_id: str) -> list[ApiKey]:
    result = await session.scalars(
        select(ApiKey).where(ApiKey.client_id == client_id).order_by(ApiKey.created_at)
    )
    return list(result.all())


def check_access_rights(dictionary: Dictionary, rights: Sequence[AccessRightIn]) -> None:
    """Refuse, listing every problem, rights that name unknown record types or fields."""
    problems: list[dict[str, str]] = []
    for index, right in enumerate(rights):
        record_type = dictionary.record_types.get(right.record_type)
        if record_type is None:
            problems.append(
                {
                    "path": f"/rights/{index}/record_type",
                    "code": "unknown_record_type",
                    "message": f"The dictionary has no record type {right.record_type!r}.",
                }
            )
            continue
        known = {field.name for version in record_type.versions for field in version.fields}
        for position, field in enumerate(right.fields):
            if field not in known:
                problems.append(
                    {
                        "path": f"/rights/{index}/fields/{position}",
                        "code": "unknown_field",
                        "message": f"{right.record_type} has no field {field!r}.",
                    }
                )
        for position, purpose in enumerate(right.purposes):
            if not _PURPOSE.match(purpose):
                problems.append(
                    {
                        "path": f"/rights/{index}/purposes/{position}",
                        "code": "invalid_purpose",
                        "message": f"{purpose!r} is not a purpose code (lower-case slug).",
                    }
                )
    if problems:
        raise Unprocessable(
            "The access rights do not match the dictionary.",
            code="invalid_access_rights",
            errors=problems,
        )


async def replace_access_rights(
    session: AsyncSession, dictionary: Dictionary, client_id: str, rights: Sequence[AccessRightIn]
) -> list[AccessRight]:
    await get_client(session, client_id)
    check_access_rights(dictionary, rights)
    await session.execute(delete(AccessRight).where(AccessRight.client_id == client_id))
    now = utcnow()
    rows = [
        AccessRight(
            client_id=client_id,
            record_type=right.record_type,
            fields=list(dict.fromkeys(right.fields)),
            purposes=list(dict.fromkeys(right.purposes)),
            legal_basis=right.legal_basis,
            created_at=now,
        )
        for right in rights
    ]
    session.add_all(rows)
    await session.commit()
    return rows


async def access_rights_of(session: AsyncSession, client_id: str) -> list[AccessRight]:
    result = await session.scalars(
        select(AccessRight).where(AccessRight.client_id == client_id).order_by(AccessRight.id)
    )
    return list(result.all())


def check_procedure_grants(dictionary: Dictionary, procedures: Sequence[str]) -> None:
    """Refuse, listing every one, grants of procedures the catalogue does not have."""
    problems = [
        {
            "path": f"/procedures/{index}",
            "code": "unknown_procedure",
            "message": f"The catalogue has no procedure {code!r}.",
        }
        for index, code in enumerate(procedures)
        if code not in dictionary.procedures
    ]
    if problems:
        raise Unprocessable(
            "The procedure grants name procedures the catalogue does not have.",
            code="invalid_procedure_grants",
            errors=problems,
        )


async def replace_procedure_grants(
    session: AsyncSession, dictionary: Dictionary, client_id: str, procedures: Sequence[str]
) -> list[str]:
    """Set the procedures the client may file; returns them in order, each once."""
    await get_client(session, client_id)
    check_procedure_grants(dictionary, procedures)
    await session.execute(delete(ProcedureGrant).where(ProcedureGrant.client_id == client_id))
    now = utcnow()
    granted = sorted(set(procedures))
    session.add_all(
        ProcedureGrant(client_id=client_id, procedure=code, created_at=now) for code in granted
    )
    await session.commit()
    return granted


async def procedure_grants_of(session: AsyncSession, client_id: str) -> list[str]:
    result = await session.scalars(
        select(ProcedureGrant.procedure)
        .where(ProcedureGrant.client_id == client_id)
        .order_by(ProcedureGrant.procedure)
    )
    return list(result.all())


async def is_procedure_granted(session: AsyncSession, client_id: str, procedure: str) -> bool:
    """Read on every filing request, never cached: a grant removed holds from the next one."""
    found = await session.scalar(
        select(ProcedureGrant.id).where(
            ProcedureGrant.client_id == client_id, ProcedureGrant.procedure == procedure
        )
    )
    return found is not None


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
            raise Unauthenticated("The API key is malformed.", code="invalid_api_key")
        now = time.monotonic()
        entry = self._cache.get(prefix)
        if entry is not None and entry.expires > now:
            if not keys.matches(plaintext, entry.key_hash):
                raise Unauthenticated("The API key is not valid.", code="invalid_api_key")
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
                raise Unauthenticated("The API key is not valid.", code="invalid_api_key")
            key, client = row
            if (
                not keys.matches(plaintext, key.key_hash)
                or key.revoked_at is not None
                or client.disabled_at is not None
            ):
                raise Unauthenticated("The API key is not valid.", code="invalid_api_key")
            # A reload (every cache lifetime) writes only when the stored time is older than
            # the resolution, as a cache hit does: no write transaction every few seconds.
            now = utcnow()
            last = key.last_used_at
            if last is not None and last.tzinfo is None:
                last = last.replace(tzinfo=UTC)
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
