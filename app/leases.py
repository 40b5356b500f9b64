"""The database as a queue: the one way the hub's senders (deliveries to the owning systems,
webhooks to subscribers) claim work, so several instances share it safely.

A queue table has ``id``, ``status`` (``pending`` / ``sending`` / ...), ``attempts``,
``next_attempt_at``, ``lease_owner``, ``lease_until`` and ``updated_at``. An instance claims
a batch in one statement, ``UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED)
RETURNING`` (SQLite has one writer and no row locks: the UPDATE alone), marking the rows
``sending`` under a lease in its own name. A row whose lease ran out (its instance died
mid-send) is due again and another instance takes it over; an outcome is written only by the
lease holder (``held_by``), and an instance that stops hands its claims back (``release``).
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, and_, or_, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from app.timestamps import utcnow

PENDING = "pending"
SENDING = "sending"

Row = TypeVar("Row")


def instance_name() -> str:
    """This process's name in the leases it takes: host, pid and a random tag."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def due(row: Any, now: datetime) -> Any:
    """Pending and due, or claimed by an instance whose lease ran out."""
    return or_(
        and_(row.status == PENDING, row.next_attempt_at <= now),
        and_(row.status == SENDING, row.lease_until < now),
    )


class LeasedQueue(Generic[Row]):
    def __init__(self, model: type[Row], *, sqlite: bool, lease_seconds: float) -> None:
        self.model = model
        self.instance = instance_name()
        self._sqlite = sqlite
        self._lease = lease_seconds

    async def claim(
        self,
        session: AsyncSession,
        candidates: Callable[[Any, datetime], Select[Any]],
        limit: int,
    ) -> list[Row]:
        """Claim up to ``limit`` rows that ``candidates(row_alias, now)`` selects (a
        ``select(row_alias.id)`` with its conditions; ``due`` is the usual one), oldest due
        first; the claimed rows, their ``attempts`` counted."""
        model: Any = self.model
        now = utcnow()
        candidate = aliased(model)
        chosen = candidates(candidate, now).order_by(candidate.next_attempt_at).limit(limit)
        if not self._sqlite:
            chosen = chosen.with_for_update(skip_locked=True, of=candidate)
        token = f"{self.instance}:{uuid.uuid4().hex[:8]}"
        claimed = await session.scalars(
            update(model)
            .where(model.id.in_(chosen.scalar_subquery()))
            .values(
                status=SENDING,
                lease_owner=token,
                lease_until=now + timedelta(seconds=self._lease),
                attempts=model.attempts + 1,
                updated_at=now,
            )
            .returning(model)
            .execution_options(synchronize_session=False)
        )
        return list(claimed)

    def held_by(self, row: Any) -> Any:
        """The condition an outcome's UPDATE carries: still ``row``'s claim, not taken over."""
        model: Any = self.model
        return and_(
            model.id == row.id, model.status == SENDING, model.lease_owner == row.lease_owner
        )

    async def release(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        """Hand back what this instance claimed and will not settle, so another instance (or
        this one after a restart) sends it without waiting for the lease to run out."""
        model: Any = self.model
        async with sessionmaker.begin() as session:
            await session.execute(
                update(model)
                .where(model.status == SENDING, model.lease_owner.startswith(self.instance + ":"))
                .values(status=PENDING, lease_owner=None, lease_until=None)
                .execution_options(synchronize_session=False)
            )
