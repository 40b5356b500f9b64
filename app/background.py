"""A job an instance repeats while it runs (sending the outbox's deliveries, reading the
change feeds, checking for sync conflicts): ``run_once`` again at once while it finds work,
else after ``poll`` seconds or as soon as someone calls ``wake`` (a commit that gave it
work). A failure (the database or a source went away) is logged by its type and retried next
round; a test drives ``run_once`` itself."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from abc import ABC, abstractmethod

log = logging.getLogger("hub.background")


class Repeating(ABC):
    name = "job"

    def __init__(self, poll_seconds: float) -> None:
        self._poll = poll_seconds
        self._task: asyncio.Task[None] | None = None
        self._wakeup = asyncio.Event()

    def wake(self, *_args: object) -> None:
        self._wakeup.set()

    @abstractmethod
    async def run_once(self) -> int:
        """One round; how much work it found (0: wait before the next)."""

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            try:
                found = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("%s: %s", self.name, type(exc).__name__)
                found = 0
            if found:
                continue
            self._wakeup.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), self._poll)
