"""What the hub holds while it runs: engine, dictionary, authenticator. Built in the lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app import demo
from app.audit.service import AuditLog, load_subject_key
from app.config import Settings
from app.registry.service import load_published
from app.db import create_engine, create_sessionmaker
from app.security.service import KeyAuthenticator
from dictionary import load_dictionary

log = logging.getLogger("hub")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_engine(settings.database_url)
    sessionmaker = create_sessionmaker(engine)
    app.state.engine = engine
    app.state.sessionmaker = sessionmaker
    app.state.dictionary = load_dictionary(settings.dictionary_path)
    async with sessionmaker() as session:
        await load_published(session, app.state.dictionary)
    app.state.authenticator = KeyAuthenticator(sessionmaker, settings.auth_cache_seconds)
    app.state.audit = AuditLog(sessionmaker, load_subject_key(settings))
    if settings.demo:
        await demo.bootstrap(settings, sessionmaker)
    log.info(
        "hub ready: %d record types, database %s",
        len(app.state.dictionary.record_types),
        engine.url.render_as_string(hide_password=True),
    )
    try:
        yield
    finally:
        await engine.dispose()
