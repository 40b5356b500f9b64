"""The webhook sender: takes due events from the queue and posts them to the subscribers.

The database is the queue (``app.leases``, as for deliveries): an instance claims
due events in one statement (``UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED)
RETURNING`` on PostgreSQL) under a lease; a lease that ran out (its instance died) makes the
event due again. Only a subscription's oldest undelivered event is ever due, so each
subscription receives its changes in order, and a subscriber that is slow or down holds back
only itself: the sends run concurrently, each cut at ``HUB_WEBHOOK_TIMEOUT_SECONDS``, and the
loop claims more while others are in flight.

Each webhook follows Standard Webhooks (``app.subscriptions.signing``) and carries a
CloudEvents envelope (``app.subscriptions.cloudevents``). What the answer means:

* 2xx: delivered;
* 410 Gone: the subscription is disabled (until the subscriber resumes or replays it);
* 429: retried no sooner than its ``Retry-After``; 5xx, any other status, no answer: retried
  on the Standard Webhooks schedule (0, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, times
  ``HUB_WEBHOOK_RETRY_SCALE``); after the last attempt the subscription is ``failing`` and
  sends nothing until the subscriber or an admin replays or resumes it.

Before a send the subscriber's access right is read again: without it the event is
``withheld`` and never sent. Every webhook sent is a ``subscription.notified`` event in the
access log (who was told what changed about whom, never the values), appended before its
outcome is written. Once an hour the sender deletes the queue's settled rows older than the
retention window (``HUB_CHANGE_RETENTION_DAYS``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx
import orjson
from sqlalchemy import Select, and_, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.changes.log import purge_changes
from app.changes.models import ChangeEvent
from app.errors import HubError
from app.events import AuditEntry, EventKind, Outcome
from app.leases import LeasedQueue, due
from app.subscriptions import signing
from app.subscriptions.cloudevents import envelope
from app.subscriptions.models import (
    ACTIVE,
    BLOCKING,
    DELIVERED,
    DISABLED,
    FAILED,
    FAILING,
    PAUSED,
    PENDING,
    SETTLED,
    WITHHELD,
    Subscription,
    SubscriptionEvent,
)
from app.subscriptions.rules import (
    check_url,
    granted_fields,
    notified_details,
    secret_box,
    told_fields,
    webhook_id,
)
from app.timestamps import utcnow

if TYPE_CHECKING:
    from app.hub import Hub

log = logging.getLogger("hub.subscriptions")

# Standard Webhooks' retry schedule (seconds before each attempt).
SCHEDULE = (0, 5, 300, 1_800, 7_200, 18_000, 36_000, 36_000)
MAX_RETRY_AFTER = 86_400
PURGE_EVERY_SECONDS = 3_600.0
CONTENT_TYPE = "application/cloudevents+json; charset=utf-8"


@dataclass(frozen=True, slots=True)
class _Job:
    event: SubscriptionEvent
    subscription: Subscription
    change: ChangeEvent


@dataclass(frozen=True, slots=True)
class _Result:
    status: str  # DELIVERED, PENDING (to retry), FAILED or WITHHELD
    error_code: str | None = None
    http_status: int | None = None
    retry_after: float | None = None
    sent: bool = False
    disable: str | None = None  # the subscription's new state, if the outcome changes it
    fields: tuple[str, ...] = ()  # the changed fields the receiver was told of


class WebhookSender:
    """One instance's webhook sender. ``wake`` after a commit that queued events;
    ``run_once`` sends one batch and waits for it (tests drive it directly)."""

    def __init__(self, hub: Hub) -> None:
        self._hub = hub
        self._settings = hub.settings
        self._queue = LeasedQueue(
            SubscriptionEvent,
            sqlite=hub.settings.is_sqlite,
            lease_seconds=hub.settings.webhook_lease_seconds,
        )
        self.instance = self._queue.instance
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._inflight: set[asyncio.Task[None]] = set()
        self._stopping = False
        self._http: httpx.AsyncClient | None = None
        self._signing_key = signing.load_signing_key(hub.settings.data_dir)
        self._box = secret_box(hub.settings)
        self._next_purge = 0.0

    @property
    def public_key(self) -> str:
        return signing.public_key_text(self._signing_key)

    # -- running

    def wake(self, *_args: Any) -> None:
        self._wakeup.set()

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(
                timeout=self._settings.webhook_timeout_seconds,
                follow_redirects=False,
                trust_env=False,
            )
        return self._http

    async def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name="webhook-sender")

    async def stop(self) -> None:
        self._stopping = True
        task, self._task = self._task, None
        tasks = [t for t in (task, *self._inflight) if t is not None]
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        if self._http is not None:
            await self._http.aclose()
            self._http = None
        # Hand back what this instance claimed and will not settle.
        with contextlib.suppress(Exception):
            await self._queue.release(self._hub.sessionmaker)

    async def _run(self) -> None:
        poll = self._settings.webhook_poll_seconds
        while not self._stopping:
            if time.monotonic() >= self._next_purge:
                self._next_purge = time.monotonic() + PURGE_EVERY_SECONDS
                try:
                    await self.purge()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    log.warning("webhook purge: %s", exc.__class__.__name__)
            free = self._settings.webhook_concurrency - len(self._inflight)
            claimed: list[_Job] = []
            if free > 0:
                try:
                    claimed = await self._claim(free)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # the database went away: try again later
                    log.warning("webhook sender: %s", exc.__class__.__name__)
            for job in claimed:
                task = asyncio.create_task(self._deliver(job), name="webhook")
                self._inflight.add(task)
                task.add_done_callback(self._done)
            if claimed:
                continue
            self._wakeup.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), poll)

    async def purge(self) -> int:
        """Delete the queue's settled rows (delivered, skipped, withheld) last touched before
        the retention window: no feed or replay reaches their changes any more. Failed rows
        stay until the subscription is replayed or resumed. Then the change log itself loses
        the changes older than the window that no queued row still needs. The number of queue
        rows deleted."""
        cutoff = utcnow() - timedelta(days=self._settings.change_retention_days)
        async with self._hub.sessionmaker.begin() as session:
            purged = await session.execute(
                delete(SubscriptionEvent)
                .where(
                    SubscriptionEvent.status.in_(SETTLED),
                    SubscriptionEvent.updated_at < cutoff,
                )
                .execution_options(synchronize_session=False)
            )
            needed = await session.scalar(select(func.min(SubscriptionEvent.change_seq)))
            await purge_changes(session, cutoff, needed)
        return int(getattr(purged, "rowcount", 0) or 0)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._inflight.discard(task)
        self._wakeup.set()  # the subscription's next event may be due now

    async def run_once(self) -> int:
        """Claim one batch of due events, send them and record the outcomes; the number."""
        claimed = await self._claim(self._settings.webhook_concurrency)
        await asyncio.gather(*(self._deliver(job) for job in claimed))
        return len(claimed)

    # -- claiming

    @staticmethod
    def _candidates(row: Any, now: datetime) -> Select[Any]:
        """Due events of active subscriptions that are their subscription's head of line
        (its oldest event still to send: each subscription's order, and only its own).
        The heads are found in one grouped pass over the unsettled rows, not by comparing
        every queued row with every earlier one."""
        heads = (
            select(
                SubscriptionEvent.subscription_id.label("subscription_id"),
                func.min(SubscriptionEvent.change_seq).label("change_seq"),
            )
            .where(SubscriptionEvent.status.in_(BLOCKING))
            .group_by(SubscriptionEvent.subscription_id)
            .subquery()
        )
        return (
            select(row.id)
            .join(Subscription, Subscription.id == row.subscription_id)
            .join(
                heads,
                and_(
                    heads.c.subscription_id == row.subscription_id,
                    heads.c.change_seq == row.change_seq,
                ),
            )
            .where(Subscription.status == ACTIVE, due(row, now))
        )

    async def _claim(self, limit: int) -> list[_Job]:
        async with self._hub.sessionmaker.begin() as session:
            events = await self._queue.claim(session, self._candidates, limit)
            if not events:
                return []
            subs = {
                s.id: s
                for s in await session.scalars(
                    select(Subscription).where(
                        Subscription.id.in_({e.subscription_id for e in events})
                    )
                )
            }
            changes = {
                c.seq: c
                for c in await session.scalars(
                    select(ChangeEvent).where(ChangeEvent.seq.in_({e.change_seq for e in events}))
                )
            }
            session.expunge_all()
        return [
            _Job(e, subs[e.subscription_id], changes[e.change_seq])
            for e in events
            if e.subscription_id in subs and e.change_seq in changes
        ]

    # -- one webhook

    async def _deliver(self, job: _Job) -> None:
        try:
            result = await self._attempt(job)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug must not stop the sender; retried on the schedule
            log.error("webhook %s: unexpected %s", job.event.id, type(exc).__name__)
            result = _Result(PENDING, error_code="internal_error")
        if result.status == PENDING and job.event.attempts >= len(SCHEDULE):
            result = _Result(
                FAILED, result.error_code, result.http_status, sent=result.sent, disable=FAILING
            )
        try:
            await self._record(job, result)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # The access log or the database refused: the lease runs out and the webhook is
            # sent again under the same webhook-id, which receivers de-duplicate.
            log.warning("webhook %s: outcome not recorded (%s)", job.event.id, type(exc).__name__)

    def _secrets(self, sub: Subscription) -> list[str]:
        opened = self._box.open(sub.secrets_sealed)
        secrets = [str(opened["current"])]
        until = sub.previous_secret_until
        if opened.get("previous") and until is not None and until > utcnow():
            secrets.append(str(opened["previous"]))
        return secrets

    async def _attempt(self, job: _Job) -> _Result:
        sub, change = job.subscription, job.change
        try:
            check_url(self._settings, sub.url or "")
        except HubError:
            return _Result(FAILED, error_code="url_not_allowed", disable=FAILING)
        granted = await granted_fields(self._hub, sub.client_id, sub.purpose)
        fields = told_fields(change, granted.get(change.record_type))
        if fields is None:
            code = "access_revoked" if change.record_type not in granted else "fields_not_granted"
            return _Result(WITHHELD, error_code=code)
        body = orjson.dumps(envelope(change, self._settings.base_url, fields))
        return replace(await self._post(sub, change, body), fields=tuple(fields))

    async def _post(self, sub: Subscription, change: ChangeEvent, body: bytes) -> _Result:
        message_id = webhook_id(sub.id, change.seq)
        timestamp = int(time.time())
        headers = {
            "content-type": CONTENT_TYPE,
            "webhook-id": message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signing.sign(
                message_id, timestamp, body, self._secrets(sub), self._signing_key
            ),
        }
        try:
            # The status and headers only: a receiver's body is never read (nor can a large
            # one hold the sender).
            async with self._client().stream(
                "POST", str(sub.url), content=body, headers=headers
            ) as answer:
                status, retry_after = answer.status_code, _retry_after(answer)
        except httpx.TimeoutException:
            return _Result(PENDING, error_code="receiver_timeout", sent=True)
        except httpx.HTTPError:
            return _Result(PENDING, error_code="receiver_unreachable")
        if 200 <= status < 300:
            return _Result(DELIVERED, http_status=status, sent=True)
        if status == 410:
            return _Result(FAILED, "gone", status, sent=True, disable=DISABLED)
        if status == 429:
            return _Result(PENDING, "rate_limited", status, retry_after, sent=True)
        return _Result(PENDING, "receiver_error", status, sent=True)

    # -- recording

    async def _record(self, job: _Job, result: _Result) -> None:
        """The access-log event first (a webhook that reached the receiver), then the event's
        and the subscription's new state in one transaction, written only by the lease holder."""
        if result.sent:
            await self._hub.audit.append(_notified_event(job, result))
        async with self._hub.sessionmaker.begin() as session:
            await self._settle(session, job, result)

    async def _settle(self, session: AsyncSession, job: _Job, result: _Result) -> None:
        now = utcnow()
        row, sub = job.event, job.subscription
        values: dict[str, Any] = {
            "status": result.status,
            "lease_owner": None,
            "lease_until": None,
            "error_code": result.error_code,
            "http_status": result.http_status,
            "updated_at": now,
        }
        if result.status == DELIVERED:
            values["delivered_at"] = now
        elif result.status == PENDING:
            wait = (
                SCHEDULE[min(row.attempts, len(SCHEDULE) - 1)] * self._settings.webhook_retry_scale
            )
            if result.retry_after is not None:
                wait = max(wait, result.retry_after)
            values["next_attempt_at"] = now + timedelta(seconds=wait)
        moved = await session.execute(
            update(SubscriptionEvent)
            .where(self._queue.held_by(row))
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if getattr(moved, "rowcount", 0) != 1:
            return  # the lease ran out and another instance took the event over
        if result.status == WITHHELD:
            return
        seen: dict[str, Any] = {
            "last_attempt_at": now,
            "last_error_code": result.error_code,
            "last_http_status": result.http_status,
        }
        if result.status == DELIVERED:
            seen["last_delivered_at"] = now
        await session.execute(
            update(Subscription)
            .where(Subscription.id == sub.id)
            .values(**seen)
            .execution_options(synchronize_session=False)
        )
        if result.disable is not None:
            reason = {"gone": "gone", "url_not_allowed": "url_not_allowed"}.get(
                result.error_code or "", "retries_exhausted"
            )
            # A subscriber's pause stands; a 410 disables whatever the state.
            states = (ACTIVE, PAUSED, FAILING) if result.disable == DISABLED else (ACTIVE,)
            await session.execute(
                update(Subscription)
                .where(Subscription.id == sub.id, Subscription.status.in_(states))
                .values(status=result.disable, status_reason=reason, updated_at=now)
                .execution_options(synchronize_session=False)
            )


def _retry_after(answer: httpx.Response) -> float | None:
    value = answer.headers.get("retry-after", "").strip()
    if value.isdigit():
        return float(min(int(value[:6]), MAX_RETRY_AFTER))
    return None


def _notified_event(job: _Job, result: _Result) -> AuditEntry:
    """Who was told what changed about whom: the subscriber, the record type and the names of
    the fields that changed, under the subscription's purpose; never a value."""
    sub, change = job.subscription, job.change
    return AuditEntry(
        kind=EventKind.SUBSCRIPTION_NOTIFIED,
        outcome=Outcome.OK if result.status == DELIVERED else Outcome.ERROR,
        client_id=sub.client_id,
        agency=sub.agency,
        subject_id=change.subject_id,
        record_type=change.record_type,
        fields=list(result.fields),
        purpose=sub.purpose,
        error_code=result.error_code,
        details={
            **notified_details(sub.id, change, "webhook"),
            "attempt": job.event.attempts,
            "http_status": result.http_status,
        },
    )
