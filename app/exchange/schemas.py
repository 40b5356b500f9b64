"""The data path's answer, for the OpenAPI document (the route renders it with orjson)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from app.timestamps import UtcDateTime


class ProvenanceOut(BaseModel):
    source_system: str = Field(description="population, civil_status, land or tax")
    connector_id: str
    source_reference: str | None = Field(description="The record's reference in the source.")
    retrieved_at: UtcDateTime
    last_updated: UtcDateTime | None = Field(description="When the source last changed it.")
    dictionary_version: str = Field(description="The record version it was validated against.")
    verified: bool = Field(description="Always true: held by the state, validated.")


class BasisOut(BaseModel):
    kind: Literal["legal", "consent"]
    reference: str


class RecordWithProvenance(BaseModel):
    record: dict[str, Any]
    provenance: ProvenanceOut


class PullOut(BaseModel):
    record_type: str
    subject_id: str
    per_subject: Literal["one", "many"]
    fields: list[str] = Field(description="The fields returned: requested and granted.")
    basis: BasisOut
    record: dict[str, Any] | None = Field(
        default=None, description="For per-subject `one` record types."
    )
    provenance: ProvenanceOut | None = None
    records: list[RecordWithProvenance] | None = Field(
        default=None, description="For per-subject `many` record types (e.g. LandParcel)."
    )
