"""Demo set-up for ``make run``: one client per role, written to ``.hub/demo-credentials.json``.

Keys are only stored hashed, so each start issues fresh keys to the demo clients (creating
them the first time) and rewrites the file. Later parts add their fields to the same file;
none may be removed.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.types import ASGIApp, Receive, Scope, Send

from app.config import Settings
from app.errors import MockControlForbidden
from app.hub import Hub
from app.security import service as security_service
from app.security.models import ApiClient
from app.security.roles import Role
from app.sources.models import ConnectorRegistration

log = logging.getLogger("hub.demo")

DEMO_CLIENTS: dict[Role, tuple[str, str]] = {
    Role.admin: ("demo-admin", "Hub operations team"),
    Role.consumer: ("demo-consumer", "Demo commune public service centre"),
    Role.integrator: ("demo-integrator", "Demo provincial integration team"),
    Role.auditor: ("demo-auditor", "Demo data-protection inspectorate"),
}


async def ensure_demo_clients(session: AsyncSession) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for role, (name, agency) in DEMO_CLIENTS.items():
        existing = await session.scalar(select(ApiClient).where(ApiClient.name == name))
        if existing is None:
            client, _key, plaintext = await security_service.create_client(
                session, name=name, agency=agency, roles=[role]
            )
            client_id = client.id
        else:
            _key, plaintext = await security_service.issue_key(session, existing.id)
            client_id = existing.id
        out[role.value] = {"client_id": client_id, "api_key": plaintext}
    return out


def write_credentials(settings: Settings, document: dict[str, Any]) -> Path:
    path = settings.data_dir / "demo-credentials.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    # The file holds live keys: readable by the owner only.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(document, handle, ensure_ascii=False, indent=2)
    return path


async def bootstrap(hub: Hub) -> Path:
    """Demo clients, and with the mocks mounted, their connectors, rights and citizens."""
    settings = hub.settings
    async with hub.sessionmaker.begin() as session:
        clients = await ensure_demo_clients(session)
    document: dict[str, Any] = {
        "base_url": settings.base_url,
        "clients": clients,
        "citizens": [],
    }
    if hub.demo_mocks:
        document.update(await demo_sources(hub, clients))
    path = write_credentials(settings, document)
    log.info("demo credentials written to %s", path)
    return path


# -- the four mock sources, their connectors and the demo consumer's rights -------------------

DEMO_MOCK_PREFIX = "/mock"
DEMO_CITIZENS = 5
DEMO_PURPOSES: dict[str, tuple[str, tuple[str, ...]]] = {
    "identity-check": (
        "Law on Identification 2023 (26/2023/QH15), Art. 10; Decree 278/2025/ND-CP",
        ("Person", "Residence", "Household"),
    ),
    "birth-registration": (
        "Law on Civil Status 2014 (60/2014/QH13), Art. 16; Decree 278/2025/ND-CP",
        ("Person", "Residence", "BirthRegistration", "MarriageRegistration"),
    ),
    "marriage-registration": (
        "Law on Civil Status 2014 (60/2014/QH13), Art. 18; Decree 278/2025/ND-CP",
        ("Person", "MarriageRegistration", "MaritalStatusCertificate", "DeathRegistration"),
    ),
    "land-transfer": (
        "Land Law 2024 (31/2024/QH15), Art. 133; Decree 278/2025/ND-CP",
        ("Person", "LandParcel", "LandUseRightCertificate", "Taxpayer", "TaxObligationStatus"),
    ),
    "tax-registration": (
        "Law on Tax Administration 2019 (38/2019/QH14), Art. 30; Decree 278/2025/ND-CP",
        ("Person", "Taxpayer", "TaxObligationStatus"),
    ),
}


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an interface to bind, or a client's address) is this machine only."""
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False  # any other name may resolve to a public interface
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


class LoopbackControls:
    """A mounted mock whose control paths (``/__faults``, ``/__stats``, ``/__tokens``) answer
    loopback clients only: from elsewhere they would let anyone fail the hub's sources or
    read their traffic. ``serve --demo`` binds loopback only; this holds behind any server."""

    def __init__(self, mock: ASGIApp) -> None:
        self.mock = mock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _is_control_path(scope):
            client = scope.get("client")
            if client is None or not is_loopback(str(client[0])):
                raise MockControlForbidden(
                    "The demo's mock control endpoints answer loopback clients only."
                )
        await self.mock(scope, receive, send)


def _is_control_path(scope: Scope) -> bool:
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :] or "/"
    return path.startswith("/__")


def mount_sources(app: FastAPI, hub: Hub) -> None:
    """Mount the four mock systems on the hub under /mock/{system}; the hub's connectors
    reach them in process (no socket), and a newcomer can curl them at the same URLs. Their
    control endpoints answer loopback clients only (:class:`LoopbackControls`)."""
    from connectors.mocks import SYSTEMS, MockSettings, create_mock_app

    mock_settings = MockSettings()
    for system in SYSTEMS:
        mock = create_mock_app(system, mock_settings)
        hub.demo_mocks[system] = mock
        app.mount(f"{DEMO_MOCK_PREFIX}/{system}", LoopbackControls(mock))
        hub.connectors.serve_in_process(f"{hub.settings.base_url}{DEMO_MOCK_PREFIX}/{system}", mock)


def _demo_auth(mock: Any) -> dict[str, Any]:
    """The credentials a mock accepts: its static key, or its OAuth2 client."""
    if mock.spec.auth == "api_key":
        return {"kind": "api_key", "header": mock.spec.api_key_header, "key": mock.settings.api_key}
    return {
        "kind": "oauth2",
        "token_url": "/oauth/token",
        "client_id": mock.settings.oauth_client_id,
        "client_secret": mock.settings.oauth_client_secret,
    }


async def demo_sources(hub: Hub, clients: dict[str, dict[str, str]]) -> dict[str, Any]:
    """Register the mocks' connectors (idempotent), grant the demo consumer its rights, and
    pick citizens present in all four systems."""
    from app.security.citizen import issue_citizen_token
    from app.security.schemas import AccessRightIn
    from app.sources import service as sources_service
    from app.sources.schemas import ConnectorCreate, ConnectorPatch
    from connectors.mocks import SYSTEMS
    from connectors.mocks.dataset import Dataset
    from connectors.systems import adapter

    settings, sessionmaker = hub.settings, hub.sessionmaker
    mock_settings = next(iter(hub.demo_mocks.values())).settings
    integrator = clients[Role.integrator.value]["client_id"]
    sources: dict[str, str] = {}
    for system in SYSTEMS:
        base_url = f"{settings.base_url}{DEMO_MOCK_PREFIX}/{system}"
        sources[system] = base_url
        async with sessionmaker.begin() as session:  # registered already?
            existing = await session.scalar(
                select(ConnectorRegistration).where(ConnectorRegistration.name == system)
            )
        # Registering and reprobing wait on the source: they hold no session meanwhile.
        if existing is None:
            defaults = adapter(system)
            await sources_service.register(
                hub,
                integrator,
                ConnectorCreate.model_validate(
                    {
                        "name": system,
                        "system": system,
                        "base_url": base_url,
                        "auth": _demo_auth(hub.demo_mocks[system]),
                        "record_types": list(defaults.record_types),
                        "timeouts": defaults.timeouts,
                        "retries": defaults.retries,
                        "breaker": defaults.breaker,
                        "max_concurrency": defaults.max_concurrency,
                    }
                ),
            )
        elif existing.base_url != base_url or not existing.enabled:
            await sources_service.update(
                hub,
                integrator,
                existing.id,
                ConnectorPatch.model_validate(
                    {
                        "base_url": base_url,
                        "auth": _demo_auth(hub.demo_mocks[system]),
                        "enabled": True,
                        "reprobe": True,
                    }
                ),
            )
    dictionary = hub.dictionary
    fields = {
        rt: [f.name for f in dictionary.record_type(rt).latest().fields]
        for _legal_basis, record_types in DEMO_PURPOSES.values()
        for rt in record_types
    }
    consumer = clients[Role.consumer.value]["client_id"]
    rights = [
        AccessRightIn(
            record_type=record_type,
            fields=fields[record_type],
            purposes=[purpose],
            legal_basis=legal_basis,
        )
        for purpose, (legal_basis, record_types) in DEMO_PURPOSES.items()
        for record_type in record_types
    ]
    async with sessionmaker.begin() as session:
        await security_service.replace_access_rights(session, dictionary, consumer, rights)
        # The demo consumer stands for every agency, so it handles every shipped procedure.
        await security_service.replace_procedure_grants(
            session, dictionary, consumer, sorted(dictionary.procedures)
        )
    purposes = [
        {
            "purpose": purpose,
            "legal_basis": legal_basis,
            "record_types": {rt: fields[rt] for rt in record_types},
        }
        for purpose, (legal_basis, record_types) in DEMO_PURPOSES.items()
    ]
    citizens = [
        {"citizen_id": citizen_id, "token": issue_citizen_token(settings, citizen_id)}
        for citizen_id in Dataset(mock_settings).demo_citizens(DEMO_CITIZENS)
    ]
    return {"citizens": citizens, "purposes": purposes, "sources": sources}
