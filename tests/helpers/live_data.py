"""Steps of the live-data tests: change something in a mock system (its ``POST /__changes``
control API), and let the hub read the feeds and check them against the other systems."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

DEATH_DAY = "20/11/2026"


async def inject(mocks: Any, system: str, *items: dict[str, Any]) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        answer = await http.post(f"{mocks.url(system)}/__changes", json=list(items))
    assert answer.status_code == 200, answer.text


async def register_death(mocks: Any, subject: str) -> None:
    """Civil status registers the person's death; the population database has not heard."""
    await inject(
        mocks,
        "civil-status",
        {"kind": "death", "subject": subject, "operation": "insert",
         "fields": {"ngayChet": DEATH_DAY}},
    )  # fmt: skip


async def population_learns_of_death(mocks: Any, subject: str) -> None:
    await inject(
        mocks,
        "population",
        {"kind": "person", "subject": subject, "operation": "update",
         "fields": {"daQuaDoi": True, "ngayMat": DEATH_DAY}},
    )  # fmt: skip


async def ingest(app: FastAPI, *, check_conflicts: bool = True) -> None:
    """Read the feeds and (unless told not to) check what they brought against the other
    systems, until nothing new comes (bounded)."""
    hub = app.state.hub
    for _ in range(10):
        read = await hub.feeds.run_once()
        checked = await hub.conflicts.run_once() if check_conflicts else 0
        if not read and not checked:
            return
    raise AssertionError("the feeds kept bringing changes")
