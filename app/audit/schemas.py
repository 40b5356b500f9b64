"""Response models of the auditor API and of the citizen's access log.

Neither ever carries a citizen ID in clear: the subject appears as its keyed HMAC (the
search key) and a masked hint such as ``0010******45``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, Field

from app.timestamps import UtcDateTime

CURSOR_DESCRIPTION = (
    "Opaque; pass it back unchanged with the same filters and order to get the next page. "
    "Null when there are no more events."
)


class AuditEventOut(BaseModel):
    """One event of the access log, as an auditor sees it."""

    seq: int = Field(description="Sequence number: dense, increasing, the event's id.")
    ts: UtcDateTime = Field(description="When the event was appended (UTC).")
    kind: str = Field(description="e.g. `data.pull`, `filing.prefill`, `admin.key_issued`.")
    client_id: str | None
    agency: str | None
    officer_id: str | None = Field(description="The officer at the counter (`X-User-Id`).")
    case_id: str | None
    subject_hint: str | None = Field(description="Masked citizen ID, e.g. `0010******45`.")
    subject_hmac: str | None = Field(description="HMAC-SHA256 of the citizen ID (hex).")
    record_type: str | None
    fields: list[str] = Field(description="Field names read; never their values.")
    purpose: str | None
    procedure: str | None
    filing_id: str | None
    basis: str | None = Field(description="`legal:<citation>` or `consent:<consent id>`.")
    outcome: str
    error_code: str | None
    request_id: str | None
    request_hash: str | None
    response_hash: str | None
    details: dict[str, Any]
    leaf_index: int | None = Field(
        default=None, description="Position in the sealed chain; null until sealed (about 1 s)."
    )


class AuditEventPage(BaseModel):
    items: list[AuditEventOut]
    next_cursor: str | None = Field(description=CURSOR_DESCRIPTION)


class ClientCount(BaseModel):
    client_id: str | None
    agency: str | None
    count: int


class RecordTypeCount(BaseModel):
    record_type: str
    count: int


class OutcomeCount(BaseModel):
    outcome: str
    count: int


class KindCount(BaseModel):
    kind: str
    count: int


class DayCount(BaseModel):
    day: date = Field(description="The UTC calendar day.")
    count: int


class ErrorCodeCount(BaseModel):
    error_code: str | None
    count: int


class DenialStats(BaseModel):
    total: int = Field(description="Events with outcome `denied`.")
    by_error_code: list[ErrorCodeCount]
    by_client: list[ClientCount]


class AuditStats(BaseModel):
    since: UtcDateTime | None
    until: UtcDateTime | None
    total: int
    by_client: list[ClientCount]
    by_record_type: list[RecordTypeCount]
    by_outcome: list[OutcomeCount]
    by_kind: list[KindCount]
    by_day: list[DayCount]
    denials: DenialStats


class AccessLogEntry(BaseModel):
    """One use of the citizen's data, as the citizen sees it.

    The officer who made the request is deliberately absent: the agency is the accountable
    party towards the citizen, and the officer's identity stays with the auditors.
    """

    event_id: int = Field(description="The event's sequence number; an auditor can prove it.")
    at: UtcDateTime = Field(description="When (UTC).")
    kind: str = Field(description="`data.pull`, `filing.prefill` ...")
    agency: str | None = Field(description="Which agency, by name.")
    record_type: str | None
    fields: list[str] = Field(description="Which fields were read (names only).")
    purpose: str | None
    procedure: str | None
    filing_id: str | None
    legal_basis: str | None = Field(description="The legal citation, when the basis was a law.")
    consent_id: str | None = Field(description="Your consent, when the basis was a consent.")
    outcome: str = Field(description="`allowed`, `denied` or `error`.")
    error_code: str | None = Field(description="Why it was refused, when it was.")


class AccessLogPage(BaseModel):
    items: list[AccessLogEntry]
    next_cursor: str | None = Field(description=CURSOR_DESCRIPTION)


class InclusionProof(BaseModel):
    leaf_index: int = Field(description="The event's position in the whole log.")
    index_in_batch: int = Field(description="Its position in its sealed batch: the proof's index.")
    tree_size: int = Field(description="The batch's leaf count: the proof's tree size.")
    audit_path: list[str] = Field(description="RFC 9162 audit path, hex SHA-256 hashes.")


class EventProof(BaseModel):
    """Everything needed to check one event with the public key alone (docs/audit.md)."""

    event: dict[str, Any] = Field(description="The event record, with its `leaf_index`.")
    leaf_hash: str = Field(description="Hex SHA-256 leaf hash of the event.")
    leaf_bytes_b64: str = Field(description="The canonical JSON bytes hashed (standard base64).")
    proof: InclusionProof
    seal: dict[str, Any] = Field(description="The signed seal of the event's batch.")


class VerifyProblemOut(BaseModel):
    code: str = Field(description="Stable code of what failed (docs/audit.md).")
    detail: str
    seq: int | None
    leaf_index: int | None
    seal_index: int | None


class SealRef(BaseModel):
    seal_index: int
    seal_hash: str


class VerifyReport(BaseModel):
    ok: bool = Field(description="False when anything was tampered with.")
    events_verified: int
    seals_verified: int
    unsealed_events: int
    first_problem: VerifyProblemOut | None
    problems: list[VerifyProblemOut]
    problems_truncated: bool
    anchor: dict[str, Any] | None = Field(description="The anchor the chain started from.")
    head: dict[str, Any] | None = Field(description="The newest seal verified: pin it.")
    pinned_head: SealRef | None


class SealingKeyOut(BaseModel):
    key_id: str
    algorithm: str
    public_key: str = Field(description="Raw 32-byte Ed25519 public key, standard base64.")
    created_at: str
    retired_at: str | None


class SealingKeys(BaseModel):
    algorithm: str
    key_id_rule: str
    current: str | None = Field(description="The key signing new seals.")
    keys: list[SealingKeyOut]
