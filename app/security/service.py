"""Clients, keys, access rights and procedure grants: the logic, with no HTTP in it.

A change is staged in the session, never written here: the caller's transaction (the
request's session, or a ``sessionmaker.begin()`` block) writes and commits it. So a route
appends the change's audit event before anything is written; on SQLite, whose one writer
is the request's transaction once it has written, the access log could not append it after."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.security import keys
from app.security.errors import (
    ClientExists,
    ClientNotFound,
    InvalidAccessRights,
    InvalidProcedureGrants,
    KeyNotFound,
)
from app.security.models import AccessRight, ApiClient, ApiKey, ProcedureGrant
from app.security.roles import Role
from app.security.schemas import PURPOSE_PATTERN, AccessRightIn
from app.timestamps import utcnow
from dictionary import Dictionary

_PURPOSE = re.compile(PURPOSE_PATTERN)
LAST_USED_RESOLUTION = timedelta(seconds=60)


async def create_client(
    session: AsyncSession, *, name: str, agency: str, roles: Sequence[Role]
) -> tuple[ApiClient, ApiKey, str]:
    """Create a client with its first key. The plaintext key is returned once, never stored."""
    existing = await session.scalar(select(ApiClient.id).where(ApiClient.name == name))
    if existing is not None:
        raise ClientExists(f"A client named {name!r} already exists.")
    now = utcnow()
    client = ApiClient(
        id=str(uuid.uuid4()),
        name=name,
        agency=agency,
        roles=sorted({Role(r).value for r in roles}),
        created_at=now,
    )
    session.add(client)
    key, plaintext = _add_key(session, client.id, now)
    return client, key, plaintext


def _add_key(session: AsyncSession, client_id: str, now: datetime) -> tuple[ApiKey, str]:
    new = keys.generate_key()
    key = ApiKey(
        id=str(uuid.uuid4()),
        client_id=client_id,
        prefix=new.prefix,
        key_hash=new.key_hash,
        created_at=now,
    )
    session.add(key)
    return key, new.plaintext


async def issue_key(session: AsyncSession, client_id: str) -> tuple[ApiKey, str]:
    await get_client(session, client_id)
    key, plaintext = _add_key(session, client_id, utcnow())
    return key, plaintext


async def revoke_key(session: AsyncSession, client_id: str, key_id: str) -> ApiKey:
    key = await session.get(ApiKey, key_id)
    if key is None or key.client_id != client_id:
        raise KeyNotFound(f"No key {key_id} for client {client_id}.")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
    return key


async def get_client(session: AsyncSession, client_id: str) -> ApiClient:
    client = await session.get(ApiClient, client_id)
    if client is None:
        raise ClientNotFound(f"No client {client_id}.")
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
        raise InvalidAccessRights("The access rights do not match the dictionary.", errors=problems)


async def replace_access_rights(
    session: AsyncSession, dictionary: Dictionary, client_id: str, rights: Sequence[AccessRightIn]
) -> list[AccessRight]:
    await get_client(session, client_id)
    check_access_rights(dictionary, rights)
    for old in await access_rights_of(session, client_id):
        await session.delete(old)
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
        raise InvalidProcedureGrants(
            "The procedure grants name procedures the catalogue does not have.", errors=problems
        )


async def replace_procedure_grants(
    session: AsyncSession, dictionary: Dictionary, client_id: str, procedures: Sequence[str]
) -> list[str]:
    """Set the procedures the client may file; returns them in order, each once."""
    await get_client(session, client_id)
    check_procedure_grants(dictionary, procedures)
    granted = sorted(set(procedures))
    held = await session.scalars(
        select(ProcedureGrant).where(ProcedureGrant.client_id == client_id)
    )
    kept = set()
    # Only the difference is staged: a grant deleted and added again in one flush would meet
    # the (client, procedure) unique constraint, as the flush inserts before it deletes.
    for grant in held.all():
        if grant.procedure in granted:
            kept.add(grant.procedure)
        else:
            await session.delete(grant)
    now = utcnow()
    session.add_all(
        ProcedureGrant(client_id=client_id, procedure=code, created_at=now)
        for code in granted
        if code not in kept
    )
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
