"""The hub's running parts, built once in the lifespan and handed to routes as ``HubDep``.

Services take the :class:`Hub` (or the parts of it they need), never ``app.state`` and
never a Starlette object: a typed service can be called from a route, a CLI command, a
background task or a test alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, FastAPI, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.config import Settings
from app.observability import HubMetrics
from dictionary import Dictionary

if TYPE_CHECKING:
    from app.audit.service import AuditLog
    from app.changes.ingest import FeedReader
    from app.changes.log import ChangeListener
    from app.conflicts.checker import ConflictChecker
    from app.deliveries.sender import Outbox
    from app.registry.sync import DictionarySync
    from app.security.caches import AccessRightsCache, KeyAuthenticator
    from app.security.citizen import CitizenTokenVerifier
    from app.sources.runtime import ConnectorRegistry
    from app.subscriptions.sender import WebhookSender


@dataclass(slots=True, eq=False)
class Hub:
    """Everything one hub instance holds while it runs."""

    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    dictionary: Dictionary
    dictionary_sync: DictionarySync
    audit: AuditLog
    connectors: ConnectorRegistry
    authenticator: KeyAuthenticator
    access_rights: AccessRightsCache
    citizen_verifier: CitizenTokenVerifier
    metrics: HubMetrics
    # Sends the deliveries; None only while the hub is being built.
    outbox: Outbox | None = None
    # Reads the source systems' change feeds into the change log.
    feeds: FeedReader | None = None
    # Checks the changes against the other systems' records (sync conflicts).
    conflicts: ConflictChecker | None = None
    # Sends the subscriptions' webhooks.
    webhooks: WebhookSender | None = None
    # Told of every change appended to the change log, in the appending transaction.
    change_listeners: list[ChangeListener] = field(default_factory=list)
    # `serve --demo`: the mock systems mounted in this process, by system name.
    demo_mocks: dict[str, Any] = field(default_factory=dict)


def hub_of(app: FastAPI) -> Hub:
    """The running hub of ``app`` (between the lifespan's start and its end)."""
    hub: Hub = app.state.hub
    return hub


async def get_hub(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


HubDep = Annotated[Hub, Depends(get_hub)]
