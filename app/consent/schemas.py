"""Request and response models of the consent API."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.consent.models import ConsentStatus, FetchType, Period
from app.timestamps import UtcDateTime


class Channel(StrEnum):
    portal = "portal"
    counter = "counter"
    app = "app"
    kiosk = "kiosk"


class ScopeItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    record_type: str = Field(min_length=1, max_length=100, examples=["Person"])
    fields: list[str] = Field(
        min_length=1, max_length=100, examples=[["full_name", "date_of_birth"]]
    )


class Validity(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: datetime | None = Field(
        default=None, description="When the consent starts; now if unset. No zone means UTC."
    )
    expiry: datetime = Field(description="When it ends: after the start, at most 366 days on.")


class CaptureEvidence(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: Channel = Field(description="Where the applicant gave the consent.")
    captured_at: datetime = Field(description="When the applicant gave it.")
    officer_id: str | None = Field(
        default=None,
        max_length=200,
        description="The officer who took it at a counter; defaults to `X-User-Id`.",
    )


class ConsentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: str = Field(
        min_length=1, max_length=40, description="The citizen's 12-digit ID (checked)."
    )
    purpose: str = Field(
        min_length=1,
        max_length=100,
        description="Procedure or purpose code, a lower-case slug (e.g. birth-registration).",
    )
    scope: list[ScopeItem] = Field(min_length=1, max_length=20)
    validity: Validity
    fetch_type: FetchType
    max_uses_per_period: int | None = Field(
        default=None, ge=1, le=10_000, description="PERIODIC only: uses allowed per period."
    )
    period: Period | None = Field(default=None, description="PERIODIC only.")
    capture: CaptureEvidence
    citizen_approval: str | None = Field(
        default=None,
        min_length=1,
        max_length=8192,
        description="The citizen's signed approval: an eID token of the trusted issuer whose "
        "`sub` is `subject` and whose `consent_sha256` claim is the consent's hash "
        "(docs/consent-receipt.md). With it the consent is ACTIVE at once; without it, "
        "PENDING until the citizen approves it at POST /v1/me/consents/{id}/approve.",
    )
    language: str = Field(default="vi", pattern=r"^[a-z]{2}(-[A-Z]{2})?$")


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500)


class OptionalReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=500)


class ValidityOut(BaseModel):
    start: UtcDateTime
    expiry: UtcDateTime


class UsageOut(BaseModel):
    count: int = Field(description="Uses since the consent was recorded.")
    last_used_at: UtcDateTime | None
    period_key: str | None = Field(description="The period counted (`once` for ONE_TIME).")
    period_uses: int = Field(description="Uses counted in that period.")


class CaptureOut(BaseModel):
    channel: str
    captured_at: UtcDateTime
    officer_id: str | None


class ConsentOut(BaseModel):
    id: str
    receipt_id: str
    subject: str
    client_id: str
    agency: str
    purpose: str
    scope: list[ScopeItem]
    status: ConsentStatus
    validity: ValidityOut
    fetch_type: FetchType
    max_uses_per_period: int
    period: Period | None
    usage: UsageOut
    capture: CaptureOut
    language: str
    created_at: UtcDateTime
    updated_at: UtcDateTime
    activated_at: UtcDateTime | None
    ended_at: UtcDateTime | None
    ended_by: str | None = Field(description="consumer, citizen or hub (expiry).")
    end_reason: str | None


class ReceiptOut(BaseModel):
    receipt: dict[str, Any] = Field(description="The Kantara v1.1 / ISO/IEC TS 27560 receipt.")
    jws: str = Field(description="Compact JWS (EdDSA, Ed25519) whose payload is the receipt.")
    kid: str = Field(description="Key id; the key is at GET /v1/consents/receipt-keys.")


class Jwks(BaseModel):
    keys: list[dict[str, str]]
