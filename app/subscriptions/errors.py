"""Refusals of the subscriptions domain."""

from __future__ import annotations

from app.errors import BadRequest, Conflict, Forbidden, NotFound, Unprocessable


class SubscriptionNotFound(NotFound):
    """No subscription of this client has this id (another client's is not found either)."""

    status, code, title = 404, "subscription_not_found", "Subscription not found"


class SubscriptionNotGranted(Forbidden):
    """The client holds no access right to a record type for the subscription's purpose."""

    status, code, title = 403, "subscription_not_granted", "Subscription not granted"


class InvalidSubscription(Unprocessable):
    """A record type the dictionary does not have, or a filter that cannot match."""

    status, code, title = 422, "invalid_subscription", "Invalid subscription"


class WebhookUrlNotAllowed(Unprocessable):
    """The webhook's host is not on ``HUB_WEBHOOK_ALLOWED_HOSTS``, or it is not https."""

    status, code, title = 422, "webhook_url_not_allowed", "Webhook URL not allowed"


class IllegalSubscriptionTransition(Conflict):
    """Pause, resume, replay or rotate what is not in a state (or kind) that allows it."""

    status, code, title = 409, "illegal_subscription_transition", "Illegal subscription transition"


class InvalidSequence(BadRequest):
    """``after`` is not a whole number from 0 to 2^63-1."""

    status, code, title = 400, "invalid_sequence", "Invalid sequence"
