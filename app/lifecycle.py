"""What the hub holds while it runs: the :class:`~app.hub.Hub`, built in the lifespan."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app import demo
from app.audit.service import AuditLog, load_subject_key
from app.changes.ingest import FeedReader
from app.config import Settings
from app.conflicts.checker import ConflictChecker
from app.db import create_engine, create_sessionmaker
from app.deliveries.models import CORRECTION, RESULT
from app.deliveries.sender import Outbox
from app.filings.settle import FilingSettlements
from app.hub import Hub
from app.observability import HubMetrics
from app.registry.service import load_published
from app.registry.sync import DictionarySync
from app.security.caches import AccessRightsCache, KeyAuthenticator
from app.security.citizen import CitizenTokenVerifier
from app.security.keyfiles import protect_at_rest
from app.sources.runtime import create_registry
from app.subscriptions.fanout import SubscriptionFanout
from app.subscriptions.sender import WebhookSender
from dictionary import load_dictionary

log = logging.getLogger("hub")


async def build_hub(settings: Settings, metrics: HubMetrics) -> Hub:
    """Open the database, load the dictionary (with what is published in the database),
    and build the audit log, the caches and the connectors; nothing is started yet."""
    protect_at_rest(settings.data_dir, settings.database_url)
    engine = create_engine(settings.database_url)
    sessionmaker = create_sessionmaker(engine)
    dictionary = load_dictionary(settings.dictionary_path)
    async with sessionmaker() as session:
        await load_published(session, dictionary)
    hub = Hub(
        settings=settings,
        engine=engine,
        sessionmaker=sessionmaker,
        dictionary=dictionary,
        dictionary_sync=DictionarySync(
            sessionmaker, dictionary, settings.dictionary_refresh_seconds
        ),
        audit=AuditLog(sessionmaker, load_subject_key(settings), settings=settings),
        connectors=create_registry(settings, sessionmaker, dictionary),
        authenticator=KeyAuthenticator(sessionmaker, settings.auth_cache_seconds),
        access_rights=AccessRightsCache(settings.auth_cache_seconds),
        citizen_verifier=CitizenTokenVerifier(settings),
        metrics=metrics,
    )
    settlements = FilingSettlements(dictionary)
    hub.outbox = Outbox(
        hub, settle={RESULT: settlements.result, CORRECTION: settlements.correction}
    )
    hub.feeds = FeedReader(hub)
    hub.conflicts = ConflictChecker(hub)
    hub.webhooks = WebhookSender(hub)
    hub.change_listeners.append(SubscriptionFanout(hub, hub.webhooks))
    return hub


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    hub = await build_hub(settings, app.state.metrics)
    app.state.hub = hub
    await hub.audit.start()
    if settings.demo:
        demo.mount_sources(app, hub)
    await hub.connectors.load()
    if settings.demo:
        await demo.bootstrap(hub)
    if settings.delivery_sender and hub.outbox is not None:
        await hub.outbox.start()
    webhooks = hub.webhooks
    if settings.webhook_sender and webhooks is not None:
        await webhooks.start()
    if settings.change_feeds and hub.feeds is not None:
        await hub.feeds.start()
    if settings.change_feeds and hub.conflicts is not None:
        await hub.conflicts.start()
    log.info(
        "hub ready: %d record types, database %s",
        len(hub.dictionary.record_types),
        hub.engine.url.render_as_string(hide_password=True),
    )
    # Start-up wrote keys, folders and demo credentials: owner-only, whatever the umask.
    protect_at_rest(settings.data_dir, settings.database_url)
    if getattr(app.state, "owns_process", False):
        # What start-up built (dictionary, validators, mappings) lives as long as the
        # process: keep it out of the collector's scans, and collect young objects less
        # often. Halves the data path's p99 (bench/pull.py). Process-wide, so only when this
        # app owns its process (`declare-once serve`), never for apps built in tests.
        gc.collect()
        gc.freeze()
        gc.set_threshold(20_000, 20, 100)
    try:
        yield
    finally:
        if hub.conflicts is not None:
            await hub.conflicts.stop()
        if hub.feeds is not None:
            await hub.feeds.stop()
        if hub.outbox is not None:
            await hub.outbox.stop()
        if webhooks is not None:
            await webhooks.stop()
        await hub.connectors.aclose()
        await hub.audit.stop()
        await hub.engine.dispose()
