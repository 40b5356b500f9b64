"""Demo set-up for ``make run``: one client per role, written to ``.hub/demo-credentials.json``.

Keys are only stored hashed, so each start issues fresh keys to the demo clients (creating
them the first time) and rewrites the file. Later parts add their fields to the same file;
none may be removed.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.security import service as security_service
from app.security.models import ApiClient
from app.security.roles import Role

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


async def bootstrap(settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]) -> Path:
    async with sessionmaker() as session:
        clients = await ensure_demo_clients(session)
    document: dict[str, Any] = {
        "base_url": settings.base_url,
        "clients": clients,
        "citizens": [],
    }
    path = write_credentials(settings, document)
    log.info("demo credentials written to %s", path)
    return path
