"""The sender: takes due deliveries from the outbox and sends them to the owning systems.

The database is the queue (``app.leases``): each instance claims a batch under a lease in
its own name; a row whose lease ran out (its instance died mid-send) is due again and
another instance takes it over. Every outcome is written only by the lease holder (a
conditional UPDATE), so two instances never both settle one delivery; and the delivery's id is the idempotency key the owner sees, so a send repeated
after a takeover is applied once by the owner.

Each attempt is one access-log event, appended before its outcome is written. What the
answer means:

* 2xx: delivered; what the owner assigned is read back (``returns``), and the origin is
  settled in the same transaction (a result's record updated, a correction answered);
* no answer (timeout, refused connection, breaker open), 408, 425, 429, 5xx, 401/403, or no
  enabled connector: retried with exponential backoff and jitter, up to
  ``delivery_max_attempts``, then failed;
* any other 4xx, or a record the source's format cannot carry: failed at once, with the
  owner's reason. Deliveries waiting on a failed one are failed as ``blocked``.

An admin replays a failed delivery (``POST /v1/admin/deliveries/{id}/replay``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.background import Repeating
from app.deliveries.models import CORRECTION, DELIVERED, FAILED, PENDING, Delivery
from app.events import AuditEntry, EventKind, Outcome
from app.leases import LeasedQueue, due
from app.timestamps import utcnow
from connectors import errors as connector_errors
from connectors.mapping import CompiledMapping, NotEncodable, SourceRequest

if TYPE_CHECKING:
    from app.hub import Hub
    from app.sources.runtime import LiveConnector

log = logging.getLogger("hub.deliveries")

RETRYABLE_STATUSES = frozenset({401, 403, 408, 425, 429})


@dataclass(frozen=True, slots=True)
class Settlement:
    """A delivery's end: ``delivered`` with what the owner answered (a result: the values it
    assigned, by record field; a correction: ``decision``, ``value``, ``reason``), or
    failed for good."""

    delivery: Delivery
    delivered: bool
    returned: dict[str, Any] = field(default_factory=dict)


Settle = Callable[[AsyncSession, Settlement], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class _Outcome:
    status: str  # DELIVERED, PENDING (to retry) or FAILED
    error_code: str | None = None
    reason: str | None = None
    source_status: int | None = None
    returned: dict[str, Any] | None = None


class Outbox(Repeating):
    """One instance's sender. ``wake`` after a commit that staged a delivery; ``run_once``
    sends one batch (tests and the benchmark drive it directly)."""

    name = "delivery-sender"

    def __init__(self, hub: Hub, settle: dict[str, Settle]) -> None:
        super().__init__(hub.settings.delivery_poll_seconds)
        self._hub = hub
        self._settings = hub.settings
        self._settle = settle
        self._queue = LeasedQueue(
            Delivery,
            sqlite=hub.settings.is_sqlite,
            lease_seconds=hub.settings.delivery_lease_seconds,
        )
        self.instance = self._queue.instance

    async def stop(self) -> None:
        await super().stop()
        with contextlib.suppress(Exception):
            await self._queue.release(self._hub.sessionmaker)

    async def run_once(self) -> int:
        """Claim one batch of due deliveries and send them; the number claimed."""
        claimed, before = await self._claim()
        if claimed:
            await self._hub.connectors.refresh_if_stale()
            outcomes = await asyncio.gather(*(self._outcome(row, before) for row in claimed))
            try:
                await self._record(list(zip(claimed, outcomes, strict=True)))
            except Exception as exc:
                # The audit log or the database refused: the leases run out and the next
                # attempt repeats the sends under the same keys, which the owners apply once.
                log.warning(
                    "deliveries: %d outcomes not recorded (%s)", len(claimed), type(exc).__name__
                )
        return len(claimed)

    # -- claiming

    @staticmethod
    def _candidates(row: Any, now: datetime) -> Select[Any]:
        """Due deliveries whose predecessor (``after``), if any, has landed."""
        earlier = aliased(Delivery)
        ready = or_(
            row.after_id.is_(None),
            exists().where(earlier.id == row.after_id, earlier.status == DELIVERED),
        )
        return select(row.id).where(due(row, now), ready)

    async def _claim(self) -> tuple[list[Delivery], dict[str, dict[str, Any]]]:
        async with self._hub.sessionmaker.begin() as session:
            rows = await self._queue.claim(session, self._candidates, self._settings.delivery_batch)
            if not rows:
                return [], {}
            after_ids = [r.after_id for r in rows if r.after_id]
            before: dict[str, dict[str, Any]] = {}
            if after_ids:
                found = await session.execute(
                    select(Delivery.id, Delivery.returned).where(Delivery.id.in_(after_ids))
                )
                before = {i: dict(returned or {}) for i, returned in found}
            session.expunge_all()
        return rows, before

    # -- one delivery

    async def _outcome(self, row: Delivery, before: dict[str, dict[str, Any]]) -> _Outcome:
        live = self._connector(row)
        try:
            outcome = await self._attempt(row, live, before)
        except Exception as exc:  # a bug must not stop the sender; retried with backoff
            # The type only: a message or traceback could quote the record's values.
            log.error("delivery %s: unexpected %s", row.id, type(exc).__name__)
            outcome = _Outcome(PENDING, error_code="internal_error")
        if outcome.status == PENDING and row.attempts >= self._settings.delivery_max_attempts:
            outcome = _Outcome(
                FAILED, outcome.error_code, outcome.reason, outcome.source_status, None
            )
        return outcome

    def _connector(self, row: Delivery) -> LiveConnector | None:
        """The connector the delivery was staged for or, if it was removed or disabled since,
        another enabled one of the same system that takes the record."""
        connectors = self._hub.connectors
        live = connectors.get(row.connector_id)
        if live is not None and live.enabled:
            return live
        if row.origin_kind == CORRECTION:
            found = connectors.corrector_for(row.record_type)
            return found[0] if found is not None and found[0].system == row.system else None
        return next(
            (c for c, _w in connectors.writers_for(row.record_type) if c.system == row.system),
            None,
        )

    async def _attempt(
        self, row: Delivery, live: LiveConnector | None, before: dict[str, dict[str, Any]]
    ) -> _Outcome:
        if live is None or not live.enabled:
            return _Outcome(PENDING, error_code="no_source")
        try:
            request, read = self._request(row, live, before)
        except NotEncodable as exc:
            return _Outcome(FAILED, error_code="not_encodable", reason=str(exc))
        except LookupError:
            return _Outcome(PENDING, error_code="no_source")
        try:
            # Settle within the lease: past it, another instance would send it again.
            async with asyncio.timeout(self._settings.delivery_lease_seconds * 0.8):
                answer = await live.write(request)
        except TimeoutError:
            return _Outcome(PENDING, error_code="source_timeout")
        except connector_errors.BreakerOpen:
            return _Outcome(PENDING, error_code="breaker_open")
        except connector_errors.SourceTimeout:
            return _Outcome(PENDING, error_code="source_timeout")
        except connector_errors.ConnectorError as exc:
            return _Outcome(PENDING, error_code="source_unavailable", source_status=_status(exc))
        status = answer.status
        if 200 <= status < 300:
            try:
                returned = read(answer.body)
            except NotEncodable as exc:
                return _Outcome(FAILED, "malformed_answer", str(exc), status)
            return _Outcome(DELIVERED, source_status=status, returned=returned)
        reason = _reason(live, row, answer.body)
        if status >= 500 or status in RETRYABLE_STATUSES:
            code = "source_auth_failed" if status in (401, 403) else "source_unavailable"
            return _Outcome(PENDING, code, reason, status)
        return _Outcome(FAILED, "source_rejected", reason, status)

    def _request(
        self, row: Delivery, live: LiveConnector, before: dict[str, dict[str, Any]]
    ) -> tuple[SourceRequest, Callable[[Any], dict[str, Any]]]:
        """The request to send and how to read a 2xx answer; LookupError when the
        connector no longer takes this record type."""
        if row.origin_kind == CORRECTION:
            mapping = live.mappings[row.record_type]
            correction = mapping.correction
            if correction is None:
                raise LookupError(row.record_type)
            disputed = dict(row.document["correction"])
            name = str(disputed["field"])
            source_field, encode = mapping.source_field(name)
            document = {
                "correction": {
                    "source_reference": disputed.get("source_reference"),
                    "subject_id": disputed.get("subject_id"),
                    "source_field": source_field,
                    "current": _encoded(encode, disputed.get("current")),
                    "claimed": _encoded(encode, disputed.get("claimed")),
                    "note": disputed.get("note"),
                }
            }
            request = correction.request.build(document, row.id, dry_run=False)

            def read_answer(body: Any) -> dict[str, Any]:
                answer = correction.answer(body)
                if answer is None:
                    raise NotEncodable("the owner's answer names no decision")
                if not answer.accepted:
                    return {"decision": "rejected", "reason": answer.reason}
                value = disputed.get("claimed")
                if answer.value is not None:
                    value = _decoded(mapping, name, answer.value, value)
                return {"decision": "accepted", "value": value}

            return request, read_answer
        write = next(
            (w for m in live.mappings.values() if (w := m.write_for(row.record_type)) is not None),
            None,
        )
        if write is None:
            raise LookupError(row.record_type)
        document = dict(row.document)
        if row.after_id:
            document["record"] = {**document.get("record", {}), **before.get(row.after_id, {})}
        return write.request.build(document, row.id, dry_run=False), write.returned

    # -- recording

    async def _record(self, settled: list[tuple[Delivery, _Outcome]]) -> None:
        """One batch's outcomes: their events first (group-committed together), then one
        transaction for all of them, so a batch costs the database two writes, not two per
        delivery."""
        await asyncio.gather(
            *(self._hub.audit.append(_attempt_event(row, outcome)) for row, outcome in settled)
        )
        async with self._hub.sessionmaker.begin() as session:
            for row, outcome in settled:
                await self._settle_one(session, row, outcome)

    async def _settle_one(self, session: AsyncSession, row: Delivery, outcome: _Outcome) -> None:
        now = utcnow()
        values: dict[str, Any] = {
            "status": outcome.status,
            "lease_owner": None,
            "lease_until": None,
            "error_code": outcome.error_code,
            "reason": outcome.reason,
            "source_status": outcome.source_status,
            "updated_at": now,
        }
        if outcome.status == DELIVERED:
            values["delivered_at"] = now
            values["returned"] = outcome.returned or {}
        elif outcome.status == PENDING:
            values["next_attempt_at"] = now + timedelta(seconds=self._backoff(row.attempts))
        moved = await session.execute(
            update(Delivery)
            .where(self._queue.held_by(row))
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if getattr(moved, "rowcount", 0) != 1:
            return  # the lease ran out and another instance took the delivery over
        if outcome.status == PENDING:
            return
        if outcome.status == FAILED:
            await session.execute(
                update(Delivery)
                .where(Delivery.after_id == row.id, Delivery.status == PENDING)
                .values(status=FAILED, error_code="blocked", updated_at=now)
                .execution_options(synchronize_session=False)
            )
        settle = self._settle.get(row.origin_kind)
        if settle is not None:
            await settle(
                session, Settlement(row, outcome.status == DELIVERED, dict(outcome.returned or {}))
            )

    def _backoff(self, attempts: int) -> float:
        settings = self._settings
        cap = min(
            settings.delivery_backoff_max_seconds,
            settings.delivery_backoff_seconds * (2 ** max(0, attempts - 1)),
        )
        return cap / 2 + random.uniform(0, cap / 2)


def _attempt_event(row: Delivery, outcome: _Outcome) -> AuditEntry:
    """The access-log event of one attempt: what went where, never the values (nor the
    owner's reason, which may quote them)."""
    sent = sorted((row.document.get("record") or {}).keys()) or (
        [str(row.document["correction"]["field"])] if "correction" in row.document else []
    )
    return AuditEntry(
        kind=EventKind.DELIVERY_ATTEMPT,
        outcome=Outcome.OK if outcome.status == DELIVERED else Outcome.ERROR,
        client_id=row.client_id,
        agency=row.agency,
        officer_id=row.officer_id,
        case_id=row.case_id,
        subject_id=row.subject_id,
        record_type=row.record_type,
        fields=sent,
        procedure=row.procedure,
        filing_id=row.filing_id,
        error_code=outcome.error_code,
        details={
            "delivery_id": row.id,
            "kind": row.origin_kind,
            "system": row.system,
            "connector_id": row.connector_id,
            "attempt": row.attempts,
            "result": outcome.status,
            "source_status": outcome.source_status,
        },
    )


def _status(exc: connector_errors.ConnectorError) -> int | None:
    status = getattr(exc, "status", None)
    return status if isinstance(status, int) else None


def _reason(live: LiveConnector, row: Delivery, body: Any) -> str | None:
    if row.origin_kind == CORRECTION:
        mapping = live.mappings.get(row.record_type)
        if mapping is not None and mapping.correction is not None:
            return mapping.correction.request.reason(body)
        return None
    for mapping in live.mappings.values():
        write = mapping.write_for(row.record_type)
        if write is not None:
            return write.request.reason(body)
    return None


def _encoded(encode: Callable[[Any], Any], value: Any) -> Any:
    return None if value is None else encode(value)


def _decoded(mapping: CompiledMapping, name: str, raw: Any, fallback: Any) -> Any:
    value = mapping.decode_field(name, raw)
    return fallback if value is None else value
