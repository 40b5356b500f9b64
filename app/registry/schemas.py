"""Request and response models of the dictionary and validation APIs."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from dictionary import CompatibilityMode


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
