"""Loading the subscription a route is about: the caller's own, or 404."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path

from app.deps import SessionDep
from app.security.actor import AdminActor, ConsumerActor
from app.subscriptions import service
from app.subscriptions.models import Subscription

ID_PATTERN = r"^[0-9a-f-]{36}$"
SubscriptionIdPath = Annotated[
    str, Path(min_length=36, max_length=36, pattern=ID_PATTERN, description="The subscription.")
]


async def _own_subscription(
    subscription_id: SubscriptionIdPath, actor: ConsumerActor, session: SessionDep
) -> Subscription:
    return await service.load(session, subscription_id, actor.client.client_id)


async def _any_subscription(
    subscription_id: SubscriptionIdPath, admin: AdminActor, session: SessionDep
) -> Subscription:
    return await service.load(session, subscription_id, None)


CurrentSubscription = Annotated[Subscription, Depends(_own_subscription)]
"""The caller's own subscription (404 `subscription_not_found` for another client's)."""
AnySubscription = Annotated[Subscription, Depends(_any_subscription)]
"""Any subscription, for an admin."""
