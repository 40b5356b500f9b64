"""Subscriptions: create, show, pause, resume, delete, re-key, replay; and the pull feed.

A subscription is authorised like a pull: the client needs an access right to each record
type for the subscription's purpose (deny by default), checked when it is created and again
whenever a change is sent or served, so a revoked right stops the flow.
"""

from __future__ import annotations

import asyncio
import ipaddress
import uuid
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from sqlalchemy import delete, event, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.errors import InvalidLimit
from app.changes.models import ChangeEvent
from app.config import Settings
from app.cursors import MAX_POSITION
from app.events import EventKind
from app.security.actor import Actor, record
from app.sources.crypto import SecretBox, load_fernet
from app.subscriptions import signing
from app.subscriptions.cloudevents import envelope
from app.subscriptions.errors import (
    IllegalSubscriptionTransition,
    InvalidSequence,
    InvalidSubscription,
    SubscriptionNotFound,
    SubscriptionNotGranted,
    WebhookUrlNotAllowed,
)
from app.subscriptions.models import (
    ACTIVE,
    BLOCKING,
    DISABLED,
    FAILING,
    PAUSED,
    PENDING,
    SKIPPED,
    WEBHOOK,
    Subscription,
    SubscriptionEvent,
)
from app.subscriptions.schemas import (
    CloudEvent,
    EventPage,
    ReplayOut,
    SubscriptionCreated,
    SubscriptionIn,
    SubscriptionList,
    SubscriptionOut,
    WebhookAttemptList,
    WebhookAttemptOut,
)
from app.timestamps import utcnow

if TYPE_CHECKING:
    from app.hub import Hub

LOOPBACK_NAMES = frozenset({"localhost"})
FEED_DEFAULT_LIMIT = 100
FEED_MAX_LIMIT = 1000
# A feed page looks at most this many changes of the subscribed types (the subject filter is
# applied after), so a page is bounded however sparse the matches.
FEED_SCAN_FACTOR = 10
REPLAY_MAX = 10_000


def webhook_id(subscription_id: str, change_seq: int) -> str:
    """The ``webhook-id`` of one change to one subscription: the same on every attempt."""
    return f"msg_{subscription_id}_{change_seq}"


def secret_box(settings: Settings) -> SecretBox:
    return SecretBox(load_fernet(settings))


# -- checks


def _is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(settings: Settings, url: str) -> None:
    """The webhook's host is on the allow-list and, unless it is loopback, over https."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        _ = parts.port
    except ValueError:
        raise WebhookUrlNotAllowed("The webhook URL is not a valid URL.") from None
    if parts.scheme not in ("https", "http") or not host:
        raise WebhookUrlNotAllowed("The webhook URL must be an absolute https URL.")
    if parts.username is not None or parts.password is not None:
        raise WebhookUrlNotAllowed("The webhook URL must not carry credentials.")
    allowed = {h.lower().strip("[]") for h in settings.webhook_allowed_hosts}
    if host not in allowed:
        raise WebhookUrlNotAllowed(
            f"Webhooks may not be sent to {host!r}: it is not on the hub's allow-list.",
            extra={"host": host},
        )
    if parts.scheme != "https" and not _is_loopback(host):
        raise WebhookUrlNotAllowed("The webhook URL must use https.")


async def granted_record_types(hub: Hub, client_id: str, purpose: str) -> frozenset[str]:
    """The record types the client may read for ``purpose`` (its access rights, cached)."""
    grants = await hub.access_rights.grants(hub.sessionmaker, client_id)
    return frozenset(g.record_type for g in grants if purpose in g.purposes)


async def _check_grants(
    hub: Hub, client_id: str, record_types: Sequence[str], purpose: str
) -> None:
    granted = await granted_record_types(hub, client_id, purpose)
    missing = [name for name in record_types if name not in granted]
    if missing:
        raise SubscriptionNotGranted(
            f"No access right for purpose {purpose!r} to: {', '.join(missing)}.",
            extra={"missing": {"record_types": missing, "purpose": purpose}},
        )


def matches(sub: Subscription, change: ChangeEvent, subject_hmac: Callable[[str], str]) -> bool:
    """Whether the change passes the subscription's record-type, province and subject filters."""
    if change.record_type not in sub.record_types:
        return False
    if sub.province_codes and change.province_code not in sub.province_codes:
        return False
    return not sub.subject_hmacs or subject_hmac(change.subject_id) in set(sub.subject_hmacs)


# -- views


def view(sub: Subscription) -> SubscriptionOut:
    return SubscriptionOut(
        id=sub.id,
        client_id=sub.client_id,
        agency=sub.agency,
        description=sub.description,
        record_types=list(sub.record_types),
        purpose=sub.purpose,
        delivery=sub.delivery,
        url=sub.url,
        province_codes=list(sub.province_codes),
        subject_count=len(sub.subject_hmacs),
        status=sub.status,
        status_reason=sub.status_reason,
        last_error_code=sub.last_error_code,
        last_http_status=sub.last_http_status,
        last_attempt_at=sub.last_attempt_at,
        last_delivered_at=sub.last_delivered_at,
        previous_secret_until=sub.previous_secret_until,
        created_at=sub.created_at,
        updated_at=sub.updated_at,
    )


def _created(sub: Subscription, secret: str | None) -> SubscriptionCreated:
    return SubscriptionCreated(**view(sub).model_dump(), secret=secret)


async def _changed(hub: Hub, actor: Actor, sub: Subscription, action: str) -> None:
    await record(
        hub.audit,
        actor,
        EventKind.SUBSCRIPTION_CHANGED,
        purpose=sub.purpose,
        details={"subscription_id": sub.id, "action": action, "record_types": sub.record_types},
    )


# -- managing


async def create(
    session: AsyncSession, hub: Hub, actor: Actor, body: SubscriptionIn
) -> SubscriptionCreated:
    record_types = list(dict.fromkeys(body.record_types))
    unknown = [name for name in record_types if name not in hub.dictionary.record_types]
    if unknown:
        raise InvalidSubscription(
            f"The dictionary has no record type(s) {', '.join(unknown)}.",
            errors=[
                {
                    "path": f"/record_types/{body.record_types.index(name)}",
                    "in": "body",
                    "code": "unknown_record_type",
                    "message": f"unknown record type {name}",
                }
                for name in unknown
            ],
        )
    if body.delivery == WEBHOOK:
        if body.url is None:
            raise InvalidSubscription("A webhook subscription needs a `url`.")
        check_url(hub.settings, body.url)
    elif body.url is not None:
        raise InvalidSubscription("A pull subscription takes no `url`.")
    await _check_grants(hub, actor.client.client_id, record_types, body.purpose)
    now = utcnow()
    secret = signing.new_secret() if body.delivery == WEBHOOK else None
    sub = Subscription(
        id=str(uuid.uuid4()),
        client_id=actor.client.client_id,
        agency=actor.agency,
        description=body.description,
        record_types=record_types,
        purpose=body.purpose,
        province_codes=list(dict.fromkeys(body.province_codes)),
        subject_hmacs=sorted({hub.audit.subject_hmac(s) for s in body.subjects}),
        delivery=body.delivery,
        url=body.url,
        secrets_sealed=secret_box(hub.settings).seal({"current": secret}) if secret else None,
        previous_secret_until=None,
        status=ACTIVE,
        created_at=now,
        updated_at=now,
    )
    await _changed(hub, actor, sub, "created")
    session.add(sub)
    await session.flush()
    return _created(sub, secret)


async def load(session: AsyncSession, subscription_id: str, client_id: str | None) -> Subscription:
    """The subscription; 404 for an unknown one or, when ``client_id`` is given, another's."""
    sub = await session.get(Subscription, subscription_id)
    if sub is None or (client_id is not None and sub.client_id != client_id):
        raise SubscriptionNotFound(f"No subscription {subscription_id}.")
    return sub


async def list_for(
    session: AsyncSession, client_id: str | None, status: str | None, limit: int
) -> SubscriptionList:
    query = select(Subscription).order_by(Subscription.created_at.desc(), Subscription.id)
    if client_id is not None:
        query = query.where(Subscription.client_id == client_id)
    if status is not None:
        query = query.where(Subscription.status == status)
    rows = (await session.scalars(query.limit(limit))).all()
    return SubscriptionList(items=[view(s) for s in rows])


async def _move(
    session: AsyncSession,
    hub: Hub,
    actor: Actor,
    sub: Subscription,
    allowed_from: Sequence[str],
    to: str,
    action: str,
) -> SubscriptionOut:
    if sub.status not in allowed_from:
        raise IllegalSubscriptionTransition(
            f"A {sub.status} subscription cannot be {action}.", extra={"status": sub.status}
        )
    await _changed(hub, actor, sub, action)
    sub.status = to
    if to == ACTIVE:
        sub.status_reason = None
    sub.updated_at = utcnow()
    await session.flush()
    return view(sub)


async def pause(
    session: AsyncSession, hub: Hub, actor: Actor, sub: Subscription
) -> SubscriptionOut:
    return await _move(session, hub, actor, sub, (ACTIVE, FAILING), PAUSED, "paused")


async def resume(
    session: AsyncSession,
    hub: Hub,
    actor: Actor,
    sub: Subscription,
    wake: Callable[..., None] | None = None,
) -> SubscriptionOut:
    """Back to active; a failed event at the head is tried again from its first attempt."""
    out = await _move(session, hub, actor, sub, (PAUSED, FAILING, DISABLED), ACTIVE, "resumed")
    await _retry_failed(session, sub.id)
    after_commit(session, wake)
    return out


def after_commit(session: AsyncSession, callback: Callable[..., None] | None) -> None:
    """Call ``callback`` once the session's transaction commits (a sender's wake-up)."""
    if callback is None:
        return
    sync = session.sync_session
    if not event.contains(sync, "after_commit", callback):
        event.listen(sync, "after_commit", callback, once=True)


async def _retry_failed(session: AsyncSession, subscription_id: str) -> None:
    await session.execute(
        update(SubscriptionEvent)
        .where(
            SubscriptionEvent.subscription_id == subscription_id,
            SubscriptionEvent.status == "failed",
        )
        .values(status=PENDING, attempts=0, next_attempt_at=utcnow(), updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )


async def remove(session: AsyncSession, hub: Hub, actor: Actor, sub: Subscription) -> None:
    await _changed(hub, actor, sub, "deleted")
    await session.execute(
        delete(SubscriptionEvent).where(SubscriptionEvent.subscription_id == sub.id)
    )
    await session.delete(sub)
    await session.flush()


async def rotate_secret(
    session: AsyncSession, hub: Hub, actor: Actor, sub: Subscription
) -> SubscriptionCreated:
    """A new secret signs from now on; the previous one keeps signing too for the grace
    period, so receivers can switch without losing a webhook."""
    if sub.delivery != WEBHOOK:
        raise IllegalSubscriptionTransition("A pull subscription has no signing secret.")
    box = secret_box(hub.settings)
    current = box.open(sub.secrets_sealed).get("current")
    secret = signing.new_secret()
    now = utcnow()
    await _changed(hub, actor, sub, "secret_rotated")
    sub.secrets_sealed = box.seal({"current": secret, "previous": str(current)})
    sub.previous_secret_until = now + timedelta(seconds=hub.settings.webhook_secret_grace_seconds)
    sub.updated_at = now
    await session.flush()
    return _created(sub, secret)


# -- the change log as a subscription sees it


def parse_after(value: str | None) -> int:
    if value is None or value == "":
        return 0
    if not value.isascii() or not value.isdigit() or len(value) > 19 or int(value) > MAX_POSITION:
        raise InvalidSequence("`after` must be a whole number from 0 to 2^63-1.")
    return int(value)


def parse_limit(value: str | None) -> int:
    if value is None or value == "":
        return FEED_DEFAULT_LIMIT
    if not value.isascii() or not value.isdigit() or not 1 <= int(value[:5]) <= FEED_MAX_LIMIT:
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
    granted = await granted_record_types(hub, sub.client_id, sub.purpose)
    record_types = [name for name in sub.record_types if name in granted]
    if not record_types:
        raise SubscriptionNotGranted(
            f"The access rights for purpose {sub.purpose!r} no longer cover this subscription.",
            extra={"missing": {"record_types": list(sub.record_types), "purpose": sub.purpose}},
        )
    changes, last, more = await _matching_changes(
        session, hub, sub, record_types, after, limit, limit * FEED_SCAN_FACTOR
    )
    await asyncio.gather(
        *(
            record(
                hub.audit,
                actor,
                EventKind.SUBSCRIPTION_NOTIFIED,
                subject_id=change.subject_id,
                record_type=change.record_type,
                fields=list(change.changed_fields or []),
                purpose=sub.purpose,
                details=notified_details(sub.id, change, "pull"),
            )
            for change in changes
        )
    )
    base = hub.settings.base_url
    return EventPage(
        items=[CloudEvent.model_validate(envelope(change, base)) for change in changes],
        next_after=last,
        has_more=more,
    )


def notified_details(subscription_id: str, change: ChangeEvent, channel: str) -> dict[str, object]:
    return {
        "subscription_id": subscription_id,
        "channel": channel,
        "change_seq": change.seq,
        "operation": change.operation,
        "system": change.system,
    }


async def attempts(
    session: AsyncSession, sub: Subscription, status: str | None, limit: int
) -> WebhookAttemptList:
    query = (
        select(SubscriptionEvent)
        .where(SubscriptionEvent.subscription_id == sub.id)
        .order_by(SubscriptionEvent.change_seq.desc())
        .limit(limit)
    )
    if status is not None:
        query = query.where(SubscriptionEvent.status == status)
    rows = (await session.scalars(query)).all()
    return WebhookAttemptList(
        items=[
            WebhookAttemptOut(
                webhook_id=webhook_id(sub.id, row.change_seq),
                change_seq=row.change_seq,
                status=row.status,
                attempts=row.attempts,
                next_attempt_at=row.next_attempt_at if row.status == PENDING else None,
                error_code=row.error_code,
                http_status=row.http_status,
                created_at=row.created_at,
                updated_at=row.updated_at,
                delivered_at=row.delivered_at,
            )
            for row in rows
        ]
    )


def new_event(subscription_id: str, change_seq: int) -> SubscriptionEvent:
    now = utcnow()
    return SubscriptionEvent(
        subscription_id=subscription_id,
        change_seq=change_seq,
        status=PENDING,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
        updated_at=now,
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
    await _check_grants(hub, sub.client_id, sub.record_types, sub.purpose)
    changes, _last, _more = await _matching_changes(
        session, hub, sub, sub.record_types, after, REPLAY_MAX, REPLAY_MAX * FEED_SCAN_FACTOR
    )
    await _changed(hub, actor, sub, "replayed")
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
    session.add_all([new_event(sub.id, change.seq) for change in changes])
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
