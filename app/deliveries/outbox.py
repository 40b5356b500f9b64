"""Putting deliveries in the outbox, showing them, and replaying a failed one.

A delivery is staged in the caller's transaction (the decision, the forwarded correction),
so it exists exactly when what it delivers does; the sender (``app.deliveries.sender``)
takes it from there. The owning system is found through the connectors: every enabled
connector whose mappings take the record type as a write gets one delivery, and one that
declares ``after: <system>`` waits for that system's delivery of the same record and is
sent with what that system assigned (a child's citizen ID, a new certificate number).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from fastapi import Path
from sqlalchemy import event, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.deliveries.errors import DeliveryNotFound, DeliveryNotReplayable
from app.deliveries.models import CORRECTION, FAILED, PENDING, RESULT, Delivery
from app.deliveries.schemas import DeliveryList, DeliveryOut
from app.events import EventKind
from app.hub import Hub
from app.security.actor import Actor, record
from app.timestamps import utcnow

ID_PATTERN = r"^[0-9a-f-]{36}$"
DeliveryIdPath = Path(max_length=36, pattern=ID_PATTERN)


def _wake_after_commit(session: AsyncSession, hub: Hub) -> None:
    """Wake this instance's sender once the transaction that staged a delivery commits."""
    outbox = hub.outbox
    if outbox is None:
        return
    sync = session.sync_session
    if not event.contains(sync, "after_commit", outbox.wake):
        event.listen(sync, "after_commit", outbox.wake, once=True)


def _new(
    actor: Actor,
    *,
    kind: str,
    origin_id: str,
    filing_id: str | None,
    procedure: str | None,
    record_type: str,
    subject_id: str | None,
    system: str,
    connector_id: str,
    document: Mapping[str, Any],
    after_id: str | None = None,
) -> Delivery:
    now = utcnow()
    return Delivery(
        id=str(uuid.uuid4()),
        origin_kind=kind,
        origin_id=origin_id,
        filing_id=filing_id,
        procedure=procedure,
        record_type=record_type,
        subject_id=subject_id,
        system=system,
        connector_id=connector_id,
        after_id=after_id,
        client_id=actor.client_id,
        agency=actor.agency,
        officer_id=actor.officer_id,
        case_id=actor.case_id,
        document=dict(document),
        status=PENDING,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
        updated_at=now,
    )


async def enqueue_result(
    session: AsyncSession,
    hub: Hub,
    actor: Actor,
    *,
    result_id: str,
    filing_id: str,
    procedure: str,
    record_type: str,
    subject_id: str,
    record: Mapping[str, Any],
    replaces: Mapping[str, Any],
) -> list[Delivery]:
    """Stage one delivery of a result record per system that takes it; none when no
    connected system does (the hub then stays the record's holder)."""
    await hub.connectors.refresh_if_stale()
    targets = hub.connectors.writers_for(record_type)
    targets.sort(key=lambda target: target[1].after is not None)
    staged: dict[str, Delivery] = {}
    for live, write in targets:
        before = staged.get(write.after) if write.after else None
        staged[live.system] = _new(
            actor,
            kind=RESULT,
            origin_id=result_id,
            filing_id=filing_id,
            procedure=procedure,
            record_type=record_type,
            subject_id=subject_id,
            system=live.system,
            connector_id=live.id,
            document={"record": dict(record), "replaces": dict(replaces)},
            after_id=before.id if before is not None else None,
        )
    if staged:
        session.add_all(staged.values())
        await session.flush()
        _wake_after_commit(session, hub)
    return list(staged.values())


async def enqueue_correction(
    session: AsyncSession,
    hub: Hub,
    actor: Actor,
    *,
    correction_id: str,
    filing_id: str,
    procedure: str,
    record_type: str,
    subject_id: str | None,
    correction: Mapping[str, Any],
) -> Delivery | None:
    """Stage a correction request to the system serving ``record_type``; None when no
    connected system takes correction requests for it."""
    await hub.connectors.refresh_if_stale()
    target = hub.connectors.corrector_for(record_type)
    if target is None:
        return None
    live, _mapping = target
    delivery = _new(
        actor,
        kind=CORRECTION,
        origin_id=correction_id,
        filing_id=filing_id,
        procedure=procedure,
        record_type=record_type,
        subject_id=subject_id,
        system=live.system,
        connector_id=live.id,
        document={"correction": dict(correction)},
    )
    session.add(delivery)
    await session.flush()
    _wake_after_commit(session, hub)
    return delivery


def delivery_out(row: Delivery) -> DeliveryOut:
    return DeliveryOut(
        id=row.id,
        kind=row.origin_kind,
        filing_id=row.filing_id,
        record_type=row.record_type,
        system=row.system,
        connector_id=row.connector_id,
        after=row.after_id,
        status=row.status,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at if row.status == PENDING else None,
        error_code=row.error_code,
        reason=row.reason,
        source_status=row.source_status,
        created_at=row.created_at,
        updated_at=row.updated_at,
        delivered_at=row.delivered_at,
    )


async def deliveries_of(
    session: AsyncSession, *, kind: str, origin_ids: list[str]
) -> dict[str, list[DeliveryOut]]:
    """The deliveries of each origin (a result, a correction), oldest first."""
    if not origin_ids:
        return {}
    rows = await session.scalars(
        select(Delivery)
        .where(Delivery.origin_kind == kind, Delivery.origin_id.in_(origin_ids))
        .order_by(Delivery.created_at, Delivery.id)
    )
    found: dict[str, list[DeliveryOut]] = {}
    for row in rows:
        found.setdefault(row.origin_id, []).append(delivery_out(row))
    return found


async def list_deliveries(
    session: AsyncSession, *, status: str | None, filing_id: str | None, limit: int
) -> DeliveryList:
    query = select(Delivery).order_by(Delivery.created_at.desc(), Delivery.id).limit(limit)
    if status is not None:
        query = query.where(Delivery.status == status)
    if filing_id is not None:
        query = query.where(Delivery.filing_id == filing_id)
    rows = await session.scalars(query)
    return DeliveryList(items=[delivery_out(row) for row in rows])


async def get_delivery(session: AsyncSession, delivery_id: str) -> DeliveryOut:
    row = await session.get(Delivery, delivery_id)
    if row is None:
        raise DeliveryNotFound(f"No delivery {delivery_id!r}.")
    return delivery_out(row)


async def replay(session: AsyncSession, hub: Hub, actor: Actor, delivery_id: str) -> DeliveryOut:
    """Send a failed delivery again, from its first attempt, with the same idempotency key
    (so an owner that did apply it after all answers with what it did). Deliveries that
    were blocked behind it are released with it."""
    row = await session.get(Delivery, delivery_id, with_for_update=True)
    if row is None:
        raise DeliveryNotFound(f"No delivery {delivery_id!r}.")
    if row.status != FAILED:
        raise DeliveryNotReplayable(f"A {row.status} delivery cannot be replayed.")
    await record(
        hub.audit,
        actor,
        EventKind.DELIVERY_REPLAYED,
        subject_id=row.subject_id,
        record_type=row.record_type,
        filing_id=row.filing_id,
        procedure=row.procedure,
        details={"delivery_id": row.id, "system": row.system},
    )
    now = utcnow()
    reset = {
        "status": PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "lease_owner": None,
        "lease_until": None,
        "error_code": None,
        "reason": None,
        "source_status": None,
        "updated_at": now,
    }
    await session.execute(
        update(Delivery)
        .where(Delivery.id == row.id, Delivery.status == FAILED)
        .values(**reset)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(Delivery)
        .where(
            Delivery.after_id == row.id,
            Delivery.status == FAILED,
            Delivery.error_code == "blocked",
        )
        .values(**reset)
        .execution_options(synchronize_session=False)
    )
    await session.refresh(row)
    _wake_after_commit(session, hub)
    return delivery_out(row)
