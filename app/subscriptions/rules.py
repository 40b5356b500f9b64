"""What the subscriptions' parts share: the filters a change must pass, the access-right
check, the allow-list of receivers, the webhook id, the sealed secrets."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from sqlalchemy import event, insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.changes.models import CREATED, DELETED, ChangeEvent
from app.config import Settings
from app.sources.crypto import SecretBox, load_fernet
from app.subscriptions.errors import SubscriptionNotGranted, WebhookUrlNotAllowed
from app.subscriptions.models import PENDING, Subscription, SubscriptionEvent
from app.timestamps import utcnow

if TYPE_CHECKING:
    from app.hub import Hub

LOOPBACK_NAMES = frozenset({"localhost"})


def webhook_id(subscription_id: str, change_seq: int) -> str:
    """The ``webhook-id`` of one change to one subscription: the same on every attempt."""
    return f"msg_{subscription_id}_{change_seq}"


def secret_box(settings: Settings) -> SecretBox:
    return SecretBox(load_fernet(settings))


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


async def granted_fields(hub: Hub, client_id: str, purpose: str) -> dict[str, frozenset[str]]:
    """The record types the client may read for ``purpose``, with their fields (its access
    rights, cached as for the data path)."""
    grants = await hub.access_rights.grants(hub.sessionmaker, client_id)
    fields: dict[str, set[str]] = {}
    for grant in grants:
        if purpose in grant.purposes:
            fields.setdefault(grant.record_type, set()).update(grant.fields)
    return {name: frozenset(names) for name, names in fields.items()}


def told_fields(change: ChangeEvent, granted: frozenset[str] | None) -> list[str] | None:
    """The changed fields a subscriber is told of: those it may read. None when it may not
    be told at all: no right to the record type any more, or an update (or a conflict) of
    none of its fields (it could read nothing new, and that a field it may not read changed
    is itself not its to know)."""
    if granted is None:
        return None
    changed = list(change.changed_fields or [])
    fields = [name for name in changed if name in granted]
    if change.operation not in (CREATED, DELETED) and changed and not fields:
        return None
    return fields


async def check_grants(hub: Hub, client_id: str, record_types: Sequence[str], purpose: str) -> None:
    granted = await granted_fields(hub, client_id, purpose)
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


def notified_details(subscription_id: str, change: ChangeEvent, channel: str) -> dict[str, object]:
    return {
        "subscription_id": subscription_id,
        "channel": channel,
        "change_seq": change.seq,
        "operation": change.operation,
        "system": change.system,
    }


async def queue_events(session: AsyncSession, pairs: Iterable[tuple[str, int]]) -> int:
    """Queue one webhook per (subscription id, change seq), in one multi-row INSERT (a page
    of changes fans out to thousands of rows: the ORM's one object per row cost more than
    the database); the number queued."""
    now = utcnow()
    rows = [
        {
            "subscription_id": subscription_id,
            "change_seq": change_seq,
            "status": PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
            "updated_at": now,
        }
        for subscription_id, change_seq in pairs
    ]
    if rows:
        await session.execute(insert(SubscriptionEvent), rows)
    return len(rows)


def after_commit(session: AsyncSession, callback: Callable[..., None] | None) -> None:
    """Call ``callback`` once the session's transaction commits (a sender's wake-up)."""
    if callback is None:
        return
    sync = session.sync_session
    if not event.contains(sync, "after_commit", callback):
        event.listen(sync, "after_commit", callback, once=True)
