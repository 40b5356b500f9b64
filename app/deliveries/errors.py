"""Refusals of the deliveries domain."""

from __future__ import annotations

from app.errors import Conflict, NotFound


class DeliveryNotFound(NotFound):
    status, code, title = 404, "delivery_not_found", "Delivery not found"


class DeliveryNotReplayable(Conflict):
    """Only a failed delivery can be sent again."""

    status, code, title = 409, "delivery_not_replayable", "Delivery not replayable"
