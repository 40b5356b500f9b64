"""The clients API (admin only)."""

from __future__ import annotations

from fastapi import APIRouter, status

from app.deps import DictionaryDep, SessionDep
from app.errors import problem_responses
from app.events import EventKind
from app.hub import HubDep
from app.routing import HubRoute
from app.security import service
from app.security.actor import AdminActor, record
from app.security.deps import AdminClient
from app.security.models import AccessRight, ApiClient, ApiKey
from app.security.roles import Role
from app.security.schemas import (
    AccessRightIn,
    AccessRightsIn,
    AccessRightsOut,
    ClientCreate,
    ClientCreated,
    ClientOut,
    KeyCreated,
    KeyOut,
    ProcedureGrantsIn,
    ProcedureGrantsOut,
)

router = APIRouter(prefix="/v1/clients", tags=["clients"], route_class=HubRoute)


def _key_out(key: ApiKey) -> KeyOut:
    return KeyOut.model_validate(key, from_attributes=True)


def _client_out(
    client: ApiClient, keys: list[ApiKey], procedures: list[str] | None = None
) -> ClientOut:
    return ClientOut(
        id=client.id,
        name=client.name,
        agency=client.agency,
        roles=[Role(r) for r in client.roles],
        created_at=client.created_at,
        disabled_at=client.disabled_at,
        keys=[_key_out(k) for k in keys],
        procedures=procedures or [],
    )


def _rights_out(client_id: str, rows: list[AccessRight]) -> AccessRightsOut:
    return AccessRightsOut(
        client_id=client_id,
        rights=[
            AccessRightIn(
                record_type=row.record_type,
                fields=list(row.fields),
                purposes=list(row.purposes),
                legal_basis=row.legal_basis,
            )
            for row in rows
        ],
    )


@router.post(
    "",
    summary="Create an API client",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(400, 401, 403, 409, 422),
)
async def create_client(
    body: ClientCreate, hub: HubDep, admin: AdminActor, session: SessionDep
) -> ClientCreated:
    """Create a client with its roles and first API key. The key is shown only in this answer."""
    client, key, plaintext = await service.create_client(
        session, name=body.name, agency=body.agency, roles=body.roles
    )
    await record(
        hub.audit,
        admin,
        EventKind.CLIENT_CREATED,
        details={"client": client.id, "roles": list(client.roles), "key_prefix": key.prefix},
    )
    out = _client_out(client, [key])
    return ClientCreated(**out.model_dump(), api_key=plaintext)


@router.get("", summary="List API clients", responses=problem_responses(401, 403))
async def list_clients(admin: AdminClient, session: SessionDep) -> list[ClientOut]:
    """Every client with its roles, keys (prefixes and usage only, never the keys) and
    procedure grants."""
    return [
        _client_out(c, k, await service.procedure_grants_of(session, c.id))
        for c, k in await service.list_clients(session)
    ]


@router.get("/{client_id}", summary="Get an API client", responses=problem_responses(401, 403, 404))
async def get_client(client_id: str, admin: AdminClient, session: SessionDep) -> ClientOut:
    """One client with its keys and the procedures it may file (its procedure grants)."""
    client = await service.get_client(session, client_id)
    return _client_out(
        client,
        await service.keys_of(session, client_id),
        await service.procedure_grants_of(session, client_id),
    )


@router.post(
    "/{client_id}/keys",
    summary="Issue another API key",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(400, 401, 403, 404),
)
async def issue_key(
    client_id: str, hub: HubDep, admin: AdminActor, session: SessionDep
) -> KeyCreated:
    """A new key for rotation; the old one keeps working until revoked."""
    key, plaintext = await service.issue_key(session, client_id)
    await record(
        hub.audit,
        admin,
        EventKind.KEY_ISSUED,
        details={"client": client_id, "key_prefix": key.prefix},
    )
    return KeyCreated(**_key_out(key).model_dump(), api_key=plaintext)


@router.post(
    "/{client_id}/keys/{key_id}/revoke",
    summary="Revoke an API key",
    responses=problem_responses(400, 401, 403, 404),
)
async def revoke_key(
    client_id: str, key_id: str, hub: HubDep, admin: AdminActor, session: SessionDep
) -> KeyOut:
    """Revoke a key at once on this instance; other instances drop it within the auth cache time."""
    key = await service.revoke_key(session, client_id, key_id)
    hub.authenticator.evict_client(client_id)
    await record(
        hub.audit,
        admin,
        EventKind.KEY_REVOKED,
        details={"client": client_id, "key_prefix": key.prefix},
    )
    return _key_out(key)


@router.put(
    "/{client_id}/access-rights",
    summary="Replace a client's access rights",
    responses=problem_responses(400, 401, 403, 404, 422),
)
async def put_access_rights(
    client_id: str,
    body: AccessRightsIn,
    hub: HubDep,
    admin: AdminActor,
    session: SessionDep,
    dictionary: DictionaryDep,
) -> AccessRightsOut:
    """The X-Road-style access list: which record types and fields, for which purposes, and
    under which legal basis. Unknown record types or fields are refused, every one listed."""
    rows = await service.replace_access_rights(session, dictionary, client_id, body.rights)
    hub.access_rights.evict(client_id)
    await record(
        hub.audit,
        admin,
        EventKind.ACCESS_RIGHTS_CHANGED,
        details={
            "client": client_id,
            "rights": [
                {"record_type": r.record_type, "fields": r.fields, "purposes": r.purposes}
                for r in rows
            ],
        },
    )
    return _rights_out(client_id, rows)


@router.get(
    "/{client_id}/access-rights",
    summary="Get a client's access rights",
    responses=problem_responses(401, 403, 404),
)
async def get_access_rights(
    client_id: str, admin: AdminClient, session: SessionDep
) -> AccessRightsOut:
    """The client's current access list."""
    await service.get_client(session, client_id)
    return _rights_out(client_id, await service.access_rights_of(session, client_id))


@router.put(
    "/{client_id}/procedure-grants",
    summary="Replace a client's procedure grants",
    operation_id="set_procedure_grants",
    response_model=ProcedureGrantsOut,
    responses=problem_responses(400, 401, 403, 404, 422),
)
async def put_procedure_grants(
    client_id: str,
    body: ProcedureGrantsIn,
    hub: HubDep,
    admin: AdminActor,
    session: SessionDep,
    dictionary: DictionaryDep,
) -> ProcedureGrantsOut:
    """The procedures whose filings the client may open, prefill, fill, submit, decide and
    dispute; any other answers 403 `procedure_not_granted` from the next request on. Codes
    the catalogue does not have are refused, every one listed (`invalid_procedure_grants`)."""
    procedures = await service.replace_procedure_grants(
        session, dictionary, client_id, body.procedures
    )
    await record(
        hub.audit,
        admin,
        EventKind.PROCEDURE_GRANTS_CHANGED,
        details={"client": client_id, "procedures": procedures},
    )
    return ProcedureGrantsOut(client_id=client_id, procedures=procedures)


@router.get(
    "/{client_id}/procedure-grants",
    summary="Get a client's procedure grants",
    operation_id="get_procedure_grants",
    response_model=ProcedureGrantsOut,
    responses=problem_responses(401, 403, 404),
)
async def get_procedure_grants(
    client_id: str, admin: AdminClient, session: SessionDep
) -> ProcedureGrantsOut:
    """The procedures the client may file."""
    await service.get_client(session, client_id)
    procedures = await service.procedure_grants_of(session, client_id)
    return ProcedureGrantsOut(client_id=client_id, procedures=procedures)
