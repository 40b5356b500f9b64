"""What the hub holds while it runs: engine, dictionary, authenticator. Built in the lifespan."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app import demo
from app.audit.service import AuditLog, load_subject_key
from app.config import Settings
from app.db import create_engine, create_sessionmaker
from app.exchange.service import AccessRightsCache
from app.registry.service import load_published
from app.registry.sync import DictionarySync
from app.security.citizen import CitizenTokenVerifier
from app.security.keyfiles import protect_at_rest
from app.security.service import KeyAuthenticator
from app.sources.runtime import create_registry
from dictionary import load_dictionary

log = logging.getLogger("hub")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    protect_at_rest(settings.data_dir, settings.database_url)
    engine = create_engine(settings.database_url)
    sessionmaker = create_sessionmaker(engine)
    app.state.engine = engine
    app.state.sessionmaker = sessionmaker
    app.state.dictionary = load_dictionary(settings.dictionary_path)
    async with sessionmaker() as session:
        await load_published(session, app.state.dictionary)
    app.state.dictionary_sync = DictionarySync(
        sessionmaker, app.state.dictionary, settings.dictionary_refresh_seconds
    )
    app.state.authenticator = KeyAuthenticator(sessionmaker, settings.auth_cache_seconds)
    app.state.citizen_verifier = CitizenTokenVerifier(settings)
    app.state.audit = AuditLog(sessionmaker, load_subject_key(settings), settings=settings)
    await app.state.audit.start()
    app.state.access_rights = AccessRightsCache(settings.auth_cache_seconds)
    app.state.connectors = create_registry(settings, sessionmaker, app.state.dictionary)
    if settings.demo:
        demo.mount_sources(app)
    await app.state.connectors.load()
    if settings.demo:
        await demo.bootstrap(settings, sessionmaker, app)
    log.info(
        "hub ready: %d record types, database %s",
        len(app.state.dictionary.record_types),
        engine.url.render_as_string(hide_password=True),
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
        await app.state.connectors.aclose()
        await app.state.audit.stop()
        await engine.dispose()
