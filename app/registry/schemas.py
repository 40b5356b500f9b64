"""Request and response models of the dictionary and validation APIs."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, RootModel

from dictionary import CompatibilityMode
from dictionary.model import CodeListEntry


class ValidationErrorOut(BaseModel):
    path: str = Field(description="JSON Pointer into the record.")
    element: str | None = Field(description="The dictionary element of the field, if any.")
    code: str = Field(description="Stable error code, e.g. `format.citizen_id`.")
    message: str


class ValidationWarningOut(BaseModel):
    code: str = Field(description="Stable warning code, e.g. `deprecated_version`.")
    message: str


class ValidationResult(BaseModel):
    record_type: str
    version: str
    as_of: str
    valid: bool
    errors: list[ValidationErrorOut]
    warnings: list[ValidationWarningOut] = Field(
        default_factory=list,
        description="About the request, not the record: e.g. `deprecated_version` when the "
        "version validated against is deprecated (also sent as a `Warning: 299` header).",
    )


class BatchItem(BaseModel):
    index: int
    valid: bool
    errors: list[ValidationErrorOut]


class BatchResult(BaseModel):
    record_type: str
    version: str
    total: int
    valid: int
    invalid: int
    results: list[BatchItem]
    warnings: list[ValidationWarningOut] = Field(
        default_factory=list, description="As in a single validation's result."
    )


class CompatibilityReport(BaseModel):
    record_type: str
    candidate_version: str
    mode: str
    compatible: bool
    violations: list[dict[str, Any]]


class PublishResultOut(BaseModel):
    record_type: str
    version: str
    id: str
    created: bool


class VersionStatusOut(BaseModel):
    """A record version after a lifecycle step."""

    record_type: str
    version: str
    id: str = Field(description="Content-addressed id; a status change does not change it.")
    status: str = Field(description="draft, published or deprecated.")
    previous_status: str
    changed: bool = Field(description="False when the version already had that status.")


class CompatibilityModeIn(BaseModel):
    mode: CompatibilityMode = Field(description="The mode the next versions are checked under.")


class CompatibilityModeOut(BaseModel):
    record_type: str
    mode: CompatibilityMode
    previous_mode: CompatibilityMode
    changed: bool = Field(description="False when the record type already had that mode.")


class CrosswalkTargetOut(BaseModel):
    code: str
    label_vi: str | None
    label_en: str | None


class CrosswalkOut(BaseModel):
    """What one code of the older version became."""

    codelist: str
    from_version: str
    to_version: str
    code: str
    label_vi: str
    label_en: str | None
    maps_to: list[CrosswalkTargetOut] = Field(
        description="Several codes for a split; none when the code was dropped."
    )


class CrosswalkRowOut(BaseModel):
    code: str
    label_vi: str
    label_en: str | None
    maps_to: list[CrosswalkTargetOut]


class CrosswalkTableOut(BaseModel):
    """Every code of the older version, in the list's order, with what it became."""

    codelist: str
    from_version: str
    to_version: str
    rows: list[CrosswalkRowOut]


class CodeListVersionSummary(BaseModel):
    version: str
    effective_from: date | None
    effective_to: date | None
    entries: int = Field(description="How many codes the version has.")


class CodeListSummary(BaseModel):
    id: str
    name_vi: str | None
    name_en: str | None
    versions: list[CodeListVersionSummary]


class CodeListView(BaseModel):
    """A code list's version in force on `as_of`, with its entries."""

    id: str
    name_vi: str | None
    name_en: str | None
    definition_vi: str | None
    definition_en: str | None
    owner: str | None
    as_of: str
    version: str
    effective_from: date | None
    effective_to: date | None
    source: str | None
    versions: list[CodeListVersionSummary]
    entries: list[CodeListEntry]


class RecordVersionRef(BaseModel):
    version: str
    status: str
    id: str = Field(description="The version's content-addressed id.")


class RecordTypeSummary(BaseModel):
    name: str
    title_vi: str | None
    title_en: str | None
    owner_system: str
    subject_field: str
    per_subject: str
    compatibility: str
    latest: str = Field(description="The latest version.")
    versions: list[RecordVersionRef]


class RecordTypeDetail(BaseModel):
    """A record type with all its versions (their fields and rules, without examples)."""

    model_config = ConfigDict(extra="allow")

    name: str
    owner_system: str
    compatibility: str
    versions: list[dict[str, Any]]


class RecordVersionOut(BaseModel):
    """One immutable version: its fields, rules and content-addressed id."""

    model_config = ConfigDict(extra="allow")

    record_type: str
    version: str
    status: str
    id: str
    fields: list[dict[str, Any]]
    rules: list[dict[str, Any]]


class RecordJsonSchema(RootModel[dict[str, Any]]):
    """A JSON Schema 2020-12 document."""


class RecordExamples(BaseModel):
    record_type: str
    version: str
    valid: list[dict[str, Any]] = Field(description="Records that validate.")
    invalid: list[dict[str, Any]] = Field(
        description="Records that fail, each with the exact error codes it must produce."
    )
    as_of: date | None
