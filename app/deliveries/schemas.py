"""What the API shows of a delivery: its state and the owner's answer, never the record."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from app.timestamps import UtcDateTime

DeliveryState = Literal["pending", "sending", "delivered", "failed"]


class DeliveryOut(BaseModel):
    id: str = Field(description="Also the idempotency key the owning system receives.")
    kind: Literal["result", "correction"]
    filing_id: str | None
    record_type: str
    system: str = Field(description="The system the record goes to.")
    connector_id: str
    after: str | None = Field(description="The delivery that must land first, if any.")
    status: DeliveryState
    attempts: int
    next_attempt_at: UtcDateTime | None = Field(description="When a pending delivery is due.")
    error_code: str | None = Field(
        description="Why the last attempt did not land: source_unavailable, source_timeout, "
        "source_rejected, breaker_open, no_source, not_encodable, blocked, ..."
    )
    reason: str | None = Field(description="The owning system's own words, when it refused.")
    source_status: int | None = Field(description="The HTTP status of the last answer.")
    created_at: UtcDateTime
    updated_at: UtcDateTime
    delivered_at: UtcDateTime | None


class DeliveryList(BaseModel):
    items: list[DeliveryOut] = Field(description="Newest first.")
