"""What a subscriber sends and sees: subscriptions, the pull feed, the webhook attempts."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.cursors import MAX_POSITION
from app.security.schemas import PURPOSE_PATTERN
from app.timestamps import UtcDateTime

RECORD_TYPE_PATTERN = r"^[A-Za-z][A-Za-z0-9]{0,99}$"
PROVINCE_PATTERN = r"^[0-9A-Za-z]{1,8}$"
SUBJECT_PATTERN = r"^[A-Za-z0-9._-]{1,64}$"
MAX_SUBJECTS = 1000

Delivery = Literal["webhook", "pull"]
SubscriptionState = Literal["active", "paused", "failing", "disabled"]
EventState = Literal["pending", "sending", "delivered", "failed", "skipped", "withheld"]
# The change log's operations (app/changes/models.py): a source's record created, updated or
# deleted, or the hub's own news that two systems' records about a subject disagree or agree.
Operation = Literal["created", "updated", "deleted", "conflict_opened", "conflict_closed"]


class SubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    record_types: list[Annotated[str, Field(pattern=RECORD_TYPE_PATTERN)]] = Field(
        min_length=1, max_length=20, description="Record types of the dictionary to follow."
    )
    purpose: str = Field(
        pattern=PURPOSE_PATTERN,
        description="The purpose your access rights grant for every one of the record types.",
    )
    delivery: Delivery = Field(
        default="webhook",
        description="`webhook`: the hub posts each change to `url`; `pull`: you read the feed "
        "at `/v1/subscriptions/{id}/events`.",
    )
    url: str | None = Field(
        default=None,
        max_length=2000,
        description="The webhook receiver (https; http only for an allowed loopback host).",
    )
    province_codes: list[Annotated[str, Field(pattern=PROVINCE_PATTERN)]] = Field(
        default_factory=list,
        max_length=100,
        description="Only changes of records in these provinces; empty: every province.",
    )
    subjects: list[Annotated[str, Field(pattern=SUBJECT_PATTERN)]] = Field(
        default_factory=list,
        max_length=MAX_SUBJECTS,
        description="Only changes about these subjects (citizen IDs you hold); empty: every "
        "subject. Kept as keyed hashes, never shown back.",
    )
    description: str | None = Field(default=None, max_length=300)


class SubscriptionOut(BaseModel):
    id: str
    client_id: str
    agency: str | None
    description: str | None
    record_types: list[str]
    purpose: str
    delivery: Delivery
    url: str | None
    province_codes: list[str]
    subject_count: int = Field(description="How many subjects filter it (0: every subject).")
    status: SubscriptionState
    status_reason: str | None = Field(
        description="Why it is failing or disabled: `gone` (410), `retries_exhausted`, "
        "`url_not_allowed`."
    )
    last_error_code: str | None
    last_http_status: int | None
    last_attempt_at: UtcDateTime | None
    last_delivered_at: UtcDateTime | None
    previous_secret_until: UtcDateTime | None = Field(
        description="After a rotation: until when the previous secret also signs."
    )
    created_at: UtcDateTime
    updated_at: UtcDateTime


class SubscriptionCreated(SubscriptionOut):
    secret: str | None = Field(
        description="The webhook signing secret (`whsec_...`), shown this once; null for pull."
    )


class SubscriptionList(BaseModel):
    items: list[SubscriptionOut] = Field(description="Newest first.")


class ChangeData(BaseModel):
    record_type: str
    operation: Operation
    changed_fields: list[str] = Field(
        description="Names of the changed fields your access right covers; never values."
    )
    source_sequence: int
    source_reference: str | None
    record_version: int | None
    effective_on: str | None
    pull: str = Field(description="Where to pull the record through the data path.")


class CloudEvent(BaseModel):
    """A CloudEvents 1.0 event (JSON format); `id` is the change's sequence in the hub."""

    specversion: Literal["1.0"]
    id: str
    source: str
    type: str = Field(
        description="vn.gov.<system>.<record type>.<operation>, e.g. "
        "vn.gov.population.person.updated; the hub's own news comes from system `hub`."
    )
    subject: str
    time: str
    datacontenttype: Literal["application/json"]
    dataschema: str
    data: ChangeData


class EventPage(BaseModel):
    items: list[CloudEvent] = Field(description="Oldest first, in sequence order.")
    next_after: int = Field(
        description="Send as `after` for the next page (the last sequence looked at)."
    )
    has_more: bool


class WebhookAttemptOut(BaseModel):
    webhook_id: str = Field(description="The `webhook-id` the receiver sees (stable).")
    change_seq: int
    status: EventState
    attempts: int
    next_attempt_at: UtcDateTime | None = Field(description="When a pending event is due.")
    error_code: str | None = Field(
        description="Why the last attempt did not land: receiver_error, receiver_timeout, "
        "receiver_unreachable, rate_limited, gone, url_not_allowed; or why it was withheld: "
        "access_revoked, fields_not_granted (an update of no field you may read)"
    )
    http_status: int | None
    created_at: UtcDateTime
    updated_at: UtcDateTime
    delivered_at: UtcDateTime | None


class WebhookAttemptList(BaseModel):
    items: list[WebhookAttemptOut] = Field(description="Newest first.")


class ReplayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    after: int = Field(
        ge=0,
        le=MAX_POSITION,
        description="Send again every matching change after this sequence (within retention).",
    )


class ReplayOut(BaseModel):
    queued: int = Field(description="Changes queued to be sent, in order.")
    through: int | None = Field(
        description="The last sequence queued (null: none). A replay queues at most 10 000 "
        "changes: when it stopped short, replay from `through` once these are delivered."
    )
    subscription: SubscriptionOut


class SigningKeyOut(BaseModel):
    algorithm: Literal["Ed25519"]
    signature_version: Literal["v1a"]
    public_key: str = Field(description="`whpk_` and the raw public key in base64.")
