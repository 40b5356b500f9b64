"""Request and response models of the dictionary and validation APIs."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ValidationErrorOut(BaseModel):
    path: str = Field(description="JSON Pointer into the record.")
    element: str | None = Field(description="The dictionary element of the field, if any.")
    code: str = Field(description="Stable error code, e.g. `format.citizen_id`.")
    message: str


class ValidationResult(BaseModel):
    record_type: str
    version: str
    as_of: str
    valid: bool
    errors: list[ValidationErrorOut]


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
