"""Subscriptions to changes: a consumer's own under /v1/subscriptions, every one for admins."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from app.deps import SessionDep
from app.errors import problem_responses
from app.hub import HubDep
from app.routing import HubRoute
from app.security.actor import AdminActor, ConsumerActor
from app.security.deps import AdminClient, AnyClient, ConsumerClient
from app.subscriptions import feed, service
from app.subscriptions.deps import AnySubscription, CurrentSubscription
from app.subscriptions.schemas import (
    EventPage,
    EventState,
    ReplayIn,
    ReplayOut,
    SigningKeyOut,
    SubscriptionCreated,
    SubscriptionIn,
    SubscriptionList,
    SubscriptionOut,
    SubscriptionState,
    WebhookAttemptList,
)
from app.subscriptions.signing import load_signing_key, public_key_text

router = APIRouter(prefix="/v1/subscriptions", tags=["subscriptions"], route_class=HubRoute)
admin_router = APIRouter(
    prefix="/v1/admin/subscriptions", tags=["subscriptions"], route_class=HubRoute
)

StatusQuery = Annotated[SubscriptionState | None, Query(description="Only this state.")]
EventStateQuery = Annotated[EventState | None, Query(description="Only this state.")]
LimitQuery = Annotated[int, Query(ge=1, le=500, description="Most items returned.")]
AfterQuery = Annotated[
    str | None, Query(description="Changes after this sequence (0 to 2^63-1); default 0.")
]
PageQuery = Annotated[str | None, Query(description="Page size, 1 to 1000; default 100.")]


def _waker(hub: HubDep) -> Callable[..., None] | None:
    """Wakes this instance's sender once the request's transaction commits."""
    sender = hub.webhooks
    return sender.wake if sender is not None else None


@router.post(
    "",
    summary="Subscribe to changes",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(401, 403, 422),
)
async def create_subscription(
    body: SubscriptionIn, hub: HubDep, actor: ConsumerActor, session: SessionDep
) -> SubscriptionCreated:
    """Follow changes of record types, under a purpose your access rights grant for each
    (403 `subscription_not_granted` otherwise), optionally only in some provinces or about
    some subjects. A `webhook` subscription gets each change posted to `url` (on the hub's
    allow-list: 422 `webhook_url_not_allowed`), signed per Standard Webhooks with the
    `secret` shown here once; a `pull` one reads `/events`. Unknown record types: 422
    `invalid_subscription`."""
    return await service.create(session, hub, actor, body)


@router.get("", summary="List my subscriptions", responses=problem_responses(401, 403, 422))
async def list_subscriptions(
    consumer: ConsumerClient,
    session: SessionDep,
    status: StatusQuery = None,
    limit: LimitQuery = 100,
) -> SubscriptionList:
    """Your subscriptions, newest first, with their state and last delivery outcome."""
    return await service.list_for(session, consumer.client_id, status, limit)


@router.get("/signing-key", summary="The webhook signing key", responses=problem_responses(401))
async def get_signing_key(hub: HubDep, caller: AnyClient) -> SigningKeyOut:
    """The hub's Ed25519 public key: webhooks carry a `v1a` signature by it beside the
    `v1` HMAC signatures by the subscription's secret."""
    key = load_signing_key(hub.settings.data_dir)
    return SigningKeyOut(
        algorithm="Ed25519", signature_version="v1a", public_key=public_key_text(key)
    )


@router.get(
    "/{subscription_id}", summary="Get a subscription", responses=problem_responses(401, 403, 404)
)
async def get_subscription(sub: CurrentSubscription) -> SubscriptionOut:
    """One of your subscriptions; another client's is 404 `subscription_not_found`."""
    return service.view(sub)


@router.delete(
    "/{subscription_id}",
    summary="Delete a subscription",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 404),
)
async def delete_subscription(
    sub: CurrentSubscription, hub: HubDep, actor: ConsumerActor, session: SessionDep
) -> Response:
    """Stop the subscription and drop its queued webhooks."""
    await service.remove(session, hub, actor, sub)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{subscription_id}/pause",
    summary="Pause a subscription",
    responses=problem_responses(401, 403, 404, 409),
)
async def pause_subscription(
    sub: CurrentSubscription, hub: HubDep, actor: ConsumerActor, session: SessionDep
) -> SubscriptionOut:
    """Stop sending; changes keep being queued and go out, in order, after a resume. Only an
    active or failing subscription pauses (409 `illegal_subscription_transition`)."""
    return await service.pause(session, hub, actor, sub)


@router.post(
    "/{subscription_id}/resume",
    summary="Resume a subscription",
    responses=problem_responses(401, 403, 404, 409),
)
async def resume_subscription(
    sub: CurrentSubscription, hub: HubDep, actor: ConsumerActor, session: SessionDep
) -> SubscriptionOut:
    """Send again from where it stopped; a failed webhook at its head is retried from its first
    attempt. A disabled one missed what changed meanwhile: replay it to catch up."""
    return await service.resume(session, hub, actor, sub, wake=_waker(hub))


@router.post(
    "/{subscription_id}/rotate-secret",
    summary="Rotate the signing secret",
    responses=problem_responses(401, 403, 404, 409),
)
async def rotate_subscription_secret(
    sub: CurrentSubscription, hub: HubDep, actor: ConsumerActor, session: SessionDep
) -> SubscriptionCreated:
    """A new secret, shown this once, signs from now on; the previous one also signs until
    `previous_secret_until` (`HUB_WEBHOOK_SECRET_GRACE_SECONDS`). Pull subscriptions have no
    secret (409)."""
    return await service.rotate_secret(session, hub, actor, sub)


@router.get(
    "/{subscription_id}/events",
    summary="Read the changes feed",
    responses=problem_responses(400, 401, 403, 404),
)
async def list_subscription_events(
    sub: CurrentSubscription,
    hub: HubDep,
    actor: ConsumerActor,
    session: SessionDep,
    after: AfterQuery = None,
    limit: PageQuery = None,
) -> EventPage:
    """The matching changes after `after`, oldest first, as CloudEvents, within the retention
    window (`HUB_CHANGE_RETENTION_DAYS`). Page on with `next_after`; asking again from any
    sequence replays. Each change served is logged as you being told of it. Refusals:
    400 `invalid_sequence`, 403 `subscription_not_granted` once your access right is gone."""
    page_after = feed.parse_after(after)
    page_limit = feed.parse_limit(limit)
    return await feed.feed(session, hub, actor, sub, page_after, page_limit)


@router.get(
    "/{subscription_id}/deliveries",
    summary="List webhook attempts",
    responses=problem_responses(401, 403, 404, 422),
)
async def list_subscription_deliveries(
    sub: CurrentSubscription,
    session: SessionDep,
    status: EventStateQuery = None,
    limit: LimitQuery = 100,
) -> WebhookAttemptList:
    """The webhooks of this subscription, newest first: state, attempts, the receiver's last
    HTTP status and why it failed."""
    return await service.attempts(session, sub, status, limit)


@router.post(
    "/{subscription_id}/replay",
    summary="Replay changes",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def replay_subscription(
    body: ReplayIn, sub: CurrentSubscription, hub: HubDep, actor: ConsumerActor, session: SessionDep
) -> ReplayOut:
    """Send every matching change after `after` again, in order (within retention); a
    failing or disabled subscription becomes active. Pull subscriptions read `/events`
    instead (409)."""
    return await feed.replay(session, hub, actor, sub, body.after, wake=_waker(hub))


@admin_router.get("", summary="List all subscriptions", responses=problem_responses(401, 403, 422))
async def list_all_subscriptions(
    admin: AdminClient, session: SessionDep, status: StatusQuery = None, limit: LimitQuery = 100
) -> SubscriptionList:
    """Every client's subscriptions, newest first; `status=failing` finds those in trouble."""
    return await service.list_for(session, None, status, limit)


@admin_router.get(
    "/{subscription_id}/deliveries",
    summary="List a subscription's webhook attempts",
    responses=problem_responses(401, 403, 404, 422),
)
async def list_any_subscription_deliveries(
    sub: AnySubscription,
    session: SessionDep,
    status: EventStateQuery = None,
    limit: LimitQuery = 100,
) -> WebhookAttemptList:
    """Any subscription's webhooks, newest first."""
    return await service.attempts(session, sub, status, limit)


@admin_router.post(
    "/{subscription_id}/replay",
    summary="Replay a subscription's changes",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def replay_any_subscription(
    body: ReplayIn, sub: AnySubscription, hub: HubDep, admin: AdminActor, session: SessionDep
) -> ReplayOut:
    """As the subscriber's replay, for any subscription."""
    return await feed.replay(session, hub, admin, sub, body.after, wake=_waker(hub))
