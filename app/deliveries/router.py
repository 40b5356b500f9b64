"""The outbox as an admin sees it: deliveries by state, and replaying a failed one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.deliveries import outbox
from app.deliveries.schemas import DeliveryList, DeliveryOut, DeliveryState
from app.deps import SessionDep
from app.errors import problem_responses
from app.hub import HubDep
from app.routing import HubRoute
from app.security.actor import AdminActor
from app.security.deps import AdminClient

router = APIRouter(prefix="/v1/admin/deliveries", tags=["deliveries"], route_class=HubRoute)


@router.get("", summary="List deliveries", responses=problem_responses(401, 403, 422))
async def list_deliveries(
    admin: AdminClient,
    session: SessionDep,
    status: Annotated[DeliveryState | None, Query(description="Only this state.")] = None,
    filing_id: Annotated[
        str | None,
        Query(max_length=36, pattern=outbox.ID_PATTERN, description="Only this filing's."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> DeliveryList:
    """The outbox, newest first: where each record went, its state, attempts and the
    owning system's reason when it refused. Never the record itself."""
    return await outbox.list_deliveries(session, status=status, filing_id=filing_id, limit=limit)


@router.get(
    "/{delivery_id}", summary="Get a delivery", responses=problem_responses(401, 403, 404, 422)
)
async def get_delivery(
    delivery_id: Annotated[str, outbox.DeliveryIdPath], admin: AdminClient, session: SessionDep
) -> DeliveryOut:
    """One delivery."""
    return await outbox.get_delivery(session, delivery_id)


@router.post(
    "/{delivery_id}/replay",
    summary="Replay a failed delivery",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def replay_delivery(
    delivery_id: Annotated[str, outbox.DeliveryIdPath],
    hub: HubDep,
    admin: AdminActor,
    session: SessionDep,
) -> DeliveryOut:
    """Send a `failed` delivery again from its first attempt, under the same idempotency
    key; deliveries blocked behind it go with it. Anything else is 409
    `delivery_not_replayable`."""
    return await outbox.replay(session, hub, admin, delivery_id)
