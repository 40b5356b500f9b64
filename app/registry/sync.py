"""Bounded staleness for the dictionary across instances.

What an instance publishes, deprecates or re-modes is in the database at once and in that
instance's memory; another instance catches up within ``HUB_DICTIONARY_REFRESH_SECONDS``:
when a dictionary or validation route is served and the interval has passed, one small
query compares the row counts of the registry's tables (rows are only added) and, if they
moved, the changes are replayed. Every admin change replays first anyway (service.py).
"""

from __future__ import annotations

import asyncio
import logging
import time

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.registry.models import (
    CompatibilityModeChange,
    PublishedRecordVersion,
    RecordVersionStatusChange,
)
from app.registry.service import load_published
from dictionary import Dictionary

log = logging.getLogger("hub.registry")


class DictionarySync:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        dictionary: Dictionary,
        refresh_seconds: float,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._dictionary = dictionary
        self._refresh_seconds = refresh_seconds
        self._checked = time.monotonic()
        self._revision: tuple[int, ...] | None = None
        self._lock = asyncio.Lock()

    def _fresh(self) -> bool:
        return time.monotonic() - self._checked < self._refresh_seconds

    async def refresh_if_stale(self) -> None:
        if self._fresh():
            return
        async with self._lock:
            if self._fresh():
                return
            try:
                await self.refresh()
            except (SQLAlchemyError, OSError) as exc:
                # Serve the dictionary this instance has; try again one interval later.
                log.warning("dictionary refresh failed: %s", exc.__class__.__name__)
            self._checked = time.monotonic()

    async def refresh(self) -> None:
        """Replay the registry's changes if any table grew since the last look."""
        async with self._sessionmaker() as session:
            revision = tuple(
                (
                    await session.execute(
                        select(
                            select(func.count())
                            .select_from(PublishedRecordVersion)
                            .scalar_subquery(),
                            select(func.count())
                            .select_from(RecordVersionStatusChange)
                            .scalar_subquery(),
                            select(func.count())
                            .select_from(CompatibilityModeChange)
                            .scalar_subquery(),
                        )
                    )
                ).one()
            )
            if revision != self._revision:
                await load_published(session, self._dictionary)
                self._revision = revision
