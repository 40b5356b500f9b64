"""The change log as a subscription sees it: the pull feed, and replaying into the webhook
queue. Both read from any sequence within the retention window
(``HUB_CHANGE_RETENTION_DAYS``), through the subscription's filters."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.errors import InvalidLimit
from app.changes.models import ChangeEvent
from app.cursors import MAX_POSITION
from app.events import EventKind
from app.security.actor import Actor, record
from app.subscriptions.cloudevents import envelope
from app.subscriptions.errors import (
    IllegalSubscriptionTransition,
    InvalidSequence,
    SubscriptionNotGranted,
)
from app.subscriptions.models import (
    ACTIVE,
    BLOCKING,
    DISABLED,
    FAILING,
    SKIPPED,
    WEBHOOK,
    Subscription,
    SubscriptionEvent,
)
from app.subscriptions.rules import (
    after_commit,
    check_grants,
    granted_fields,
    matches,
    notified_details,
    queue_events,
    told_fields,
)
from app.subscriptions.schemas import CloudEvent, EventPage, ReplayOut
from app.subscriptions.service import changed, view
from app.timestamps import utcnow

if TYPE_CHECKING:
    from app.hub import Hub

FEED_DEFAULT_LIMIT = 100
FEED_MAX_LIMIT = 1000
# A feed page looks at most this many changes of the subscribed types (the subject filter is
# applied after), so a page is bounded however sparse the matches.
FEED_SCAN_FACTOR = 10
REPLAY_MAX = 10_000


def parse_after(value: str | None) -> int:
    if value is None or value == "":
        return 0
    if not value.isascii() or not value.isdigit() or len(value) > 19 or int(value) > MAX_POSITION:
        raise InvalidSequence("`after` must be a whole number from 0 to 2^63-1.")
    return int(value)


def parse_limit(value: str | None) -> int:
    if value is None or value == "":
        return FEED_DEFAULT_LIMIT
    if (
        not value.isascii()
        or not value.isdigit()
        or len(value) > 4
        or not 1 <= int(value) <= FEED_MAX_LIMIT
    ):
        raise InvalidLimit(f"`limit` must be a whole number from 1 to {FEED_MAX_LIMIT}.")
    return int(value)


async def _matching_changes(
    session: AsyncSession,
    hub: Hub,
    sub: Subscription,
    record_types: Sequence[str],
    after: int,
    want: int,
    scan: int,
) -> tuple[list[ChangeEvent], int, bool]:
    """Up to ``want`` changes after ``after`` that match, looking at no more than ``scan``
    changes of the subscribed types in the retention window; with the last sequence looked
    at and whether more may follow."""
    cutoff = utcnow() - timedelta(days=hub.settings.change_retention_days)
    query = (
        select(ChangeEvent)
        .where(
            ChangeEvent.seq > after,
            ChangeEvent.record_type.in_(list(record_types)),
            ChangeEvent.ingested_at >= cutoff,
        )
        .order_by(ChangeEvent.seq)
        .limit(scan + 1)
    )
    if sub.province_codes:
        query = query.where(ChangeEvent.province_code.in_(list(sub.province_codes)))
    rows = list((await session.scalars(query)).all())
    more = len(rows) > scan
    rows = rows[:scan]
    found: list[ChangeEvent] = []
    last = after
    for change in rows:
        last = change.seq
        if matches(sub, change, hub.audit.subject_hmac):
            found.append(change)
            if len(found) == want:
                more = more or change is not rows[-1]
                break
    return found, last, more


async def feed(
    session: AsyncSession, hub: Hub, actor: Actor, sub: Subscription, after: int, limit: int
) -> EventPage:
    """The changes after ``after`` that match, oldest first. Each one served is logged as
    the subscriber being told of it, like a webhook."""
    granted = await granted_fields(hub, sub.client_id, sub.purpose)
    record_types = [name for name in sub.record_types if name in granted]
    if not record_types:
        raise SubscriptionNotGranted(
            f"The access rights for purpose {sub.purpose!r} no longer cover this subscription.",
            extra={"missing": {"record_types": list(sub.record_types), "purpose": sub.purpose}},
        )
    matched, last, more = await _matching_changes(
        session, hub, sub, record_types, after, limit, limit * FEED_SCAN_FACTOR
    )
    told = [
        (change, fields)
        for change in matched
        if (fields := told_fields(change, granted.get(change.record_type))) is not None
    ]
    await asyncio.gather(
        *(
            record(
                hub.audit,
                actor,
                EventKind.SUBSCRIPTION_NOTIFIED,
                subject_id=change.subject_id,
                record_type=change.record_type,
                fields=fields,
                purpose=sub.purpose,
                details=notified_details(sub.id, change, "pull"),
            )
            for change, fields in told
        )
    )
    base = hub.settings.base_url
    return EventPage(
        items=[
            CloudEvent.model_validate(envelope(change, base, fields)) for change, fields in told
        ],
        next_after=last,
        has_more=more,
    )


async def replay(
    session: AsyncSession,
    hub: Hub,
    actor: Actor,
    sub: Subscription,
    after: int,
    wake: Callable[..., None] | None = None,
) -> ReplayOut:
    """Send every matching change after ``after`` (within retention) again, in order, from
    its first attempt; undelivered changes up to ``after`` are passed over. A failing or
    disabled subscription is active again (a paused one stays paused)."""
    if sub.delivery != WEBHOOK:
        raise IllegalSubscriptionTransition(
            "A pull subscription replays by reading its feed with `after`."
        )
    await check_grants(hub, sub.client_id, sub.record_types, sub.purpose)
    changes, _last, _more = await _matching_changes(
        session, hub, sub, sub.record_types, after, REPLAY_MAX, REPLAY_MAX * FEED_SCAN_FACTOR
    )
    await changed(hub, actor, sub, "replayed")
    now = utcnow()
    await session.execute(
        update(SubscriptionEvent)
        .where(
            SubscriptionEvent.subscription_id == sub.id,
            SubscriptionEvent.change_seq <= after,
            SubscriptionEvent.status.in_(BLOCKING),
        )
        .values(status=SKIPPED, lease_owner=None, lease_until=None, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        delete(SubscriptionEvent).where(
            SubscriptionEvent.subscription_id == sub.id, SubscriptionEvent.change_seq > after
        )
    )
    await queue_events(session, ((sub.id, change.seq) for change in changes))
    if sub.status in (FAILING, DISABLED):
        sub.status = ACTIVE
        sub.status_reason = None
    sub.updated_at = now
    await session.flush()
    after_commit(session, wake)
    return ReplayOut(
        queued=len(changes),
        through=changes[-1].seq if changes else None,
        subscription=view(sub),
    )
