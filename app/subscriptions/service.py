"""Subscriptions: create, show, list, pause, resume, delete, re-key; and their webhooks.

A subscription is authorised like a pull: the client needs an access right to each record
type for the subscription's purpose (deny by default), checked when it is created and again
whenever a change is sent or served (``app.subscriptions.feed``, ``.sender``), so a revoked
right stops the flow.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.events import EventKind
from app.security.actor import Actor, record
from app.subscriptions import signing
from app.subscriptions.errors import (
    IllegalSubscriptionTransition,
    InvalidSubscription,
    SubscriptionNotFound,
)
from app.subscriptions.models import (
    ACTIVE,
    DISABLED,
    FAILED,
    FAILING,
    PAUSED,
    PENDING,
    WEBHOOK,
    Subscription,
    SubscriptionEvent,
)
from app.subscriptions.rules import after_commit, check_grants, check_url, secret_box, webhook_id
from app.subscriptions.schemas import (
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


async def changed(hub: Hub, actor: Actor, sub: Subscription, action: str) -> None:
    await record(
        hub.audit,
        actor,
        EventKind.SUBSCRIPTION_CHANGED,
        purpose=sub.purpose,
        details={"subscription_id": sub.id, "action": action, "record_types": sub.record_types},
    )


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
    await check_grants(hub, actor.client.client_id, record_types, body.purpose)
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
    await changed(hub, actor, sub, "created")
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
    await changed(hub, actor, sub, action)
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


async def _retry_failed(session: AsyncSession, subscription_id: str) -> None:
    await session.execute(
        update(SubscriptionEvent)
        .where(
            SubscriptionEvent.subscription_id == subscription_id,
            SubscriptionEvent.status == FAILED,
        )
        .values(status=PENDING, attempts=0, next_attempt_at=utcnow(), updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )


async def remove(session: AsyncSession, hub: Hub, actor: Actor, sub: Subscription) -> None:
    await changed(hub, actor, sub, "deleted")
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
    await changed(hub, actor, sub, "secret_rotated")
    sub.secrets_sealed = box.seal({"current": secret, "previous": str(current)})
    sub.previous_secret_until = now + timedelta(seconds=hub.settings.webhook_secret_grace_seconds)
    sub.updated_at = now
    await session.flush()
    return _created(sub, secret)


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
