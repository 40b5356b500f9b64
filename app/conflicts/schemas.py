"""What the API shows of a sync conflict: the rule, the systems, the disagreeing fields and a
masked subject; never the values nor the citizen ID."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from app.timestamps import UtcDateTime


class SideOut(BaseModel):
    record_type: str
    system: str
    source_reference: str | None


class ConflictOut(BaseModel):
    id: int
    rule: str = Field(description="person_birth, person_death, person_marriage, ...")
    description: str
    subject_hint: str = Field(description="The subject's citizen ID, masked.")
    population: SideOut
    other: SideOut
    fields: list[str] = Field(description="What disagrees (the population side's names).")
    status: Literal["open", "closed"]
    opened_at: UtcDateTime
    updated_at: UtcDateTime
    closed_at: UtcDateTime | None


class ConflictList(BaseModel):
    items: list[ConflictOut] = Field(description="Newest first.")
