"""The change log's listener: each new change becomes one queued webhook per matching
subscription, in the transaction that appends the change (both commit, or neither)."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.changes.models import ChangeEvent
from app.subscriptions.models import ACTIVE, FAILING, PAUSED, WEBHOOK, Subscription
from app.subscriptions.rules import after_commit, matches, queue_events

if TYPE_CHECKING:
    from app.hub import Hub
    from app.subscriptions.sender import WebhookSender

# Changes are queued for a paused or failing subscription (sent after a resume or replay);
# a disabled one (its receiver is gone) gets nothing until it is replayed.
QUEUEING = (ACTIVE, PAUSED, FAILING)


class SubscriptionFanout:
    """A ``ChangeListener`` (``app.changes.log``) that also holds the instance's sender."""

    def __init__(self, hub: Hub, sender: WebhookSender) -> None:
        self._hub = hub
        self.sender = sender

    async def __call__(self, session: AsyncSession, changes: list[ChangeEvent]) -> None:
        subscriptions = (
            await session.scalars(
                select(Subscription).where(
                    Subscription.delivery == WEBHOOK, Subscription.status.in_(QUEUEING)
                )
            )
        ).all()
        if not subscriptions:
            return
        subject_hmac = lru_cache(maxsize=None)(self._hub.audit.subject_hmac)
        queued = await queue_events(
            session,
            (
                (sub.id, change.seq)
                for change in changes
                for sub in subscriptions
                if matches(sub, change, subject_hmac)
            ),
        )
        if queued:
            after_commit(session, self.sender.wake)
