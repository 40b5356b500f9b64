"""Request bodies of the filings API (responses are documented on the routes)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.deliveries.schemas import DeliveryOut
from app.timestamps import UtcDateTime
from dictionary.procedures import Procedure


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FilingOpen(_Body):
    procedure: str = Field(description="Procedure code, e.g. birth-registration.", max_length=100)
    applicant_id: str = Field(description="Citizen ID of the applicant.", max_length=32)
    on_behalf_of: str | None = Field(
        default=None,
        description="Citizen ID of the person the filing is for (a child), if not the applicant.",
        max_length=32,
    )


class FilingPatch(_Body):
    dossier: dict[str, Any] = Field(
        description="`{component: {field: value}}`; null clears a field. Verified (pre-filled "
        "from state data) fields are locked.",
    )


class FilingSubmit(_Body):
    confirm: bool = Field(
        default=False, description="The applicant confirms the previewed dossier; must be true."
    )


class FilingDecision(_Body):
    decision: Literal["approved", "rejected"]
    reason: str = Field(min_length=1, max_length=2000)
    result: dict[str, Any] | None = Field(
        default=None,
        description="Values of the result record that only the deciding agency gives "
        "(registration number, date ...); the rest comes from the dossier.",
    )


class CorrectionCreate(_Body):
    field: str = Field(
        description="JSON Pointer of the disputed field, `/component/field`.", max_length=200
    )
    claimed_value: Any = Field(description="The value the applicant says is right.")
    note: str | None = Field(default=None, max_length=1000)


class CorrectionUpdate(_Body):
    status: Literal["forwarded", "resolved", "rejected"]


# ---------------------------------------------------------------------------------------------
# Responses


class DeclareOnceOut(BaseModel):
    fields_prefilled: int = Field(description="Dossier fields filled from state data.")
    fields_typed: int = Field(description="Dossier fields the applicant typed.")
    fields_derived: int = Field(
        default=0,
        description="Dossier fields derived from the applicant's ID or from a typed value: "
        "neither typed nor from state data (one derived from state data is pre-filled). Not "
        "kept per submitted filing yet: 0 in the aggregated statistics.",
    )
    components_from_state: int = Field(description="Components satisfied from state data.")
    components_supplied: int = Field(description="Components the applicant typed or uploaded.")
    declare_once_rate: float | None = Field(
        description="fields_prefilled / (fields_prefilled + fields_typed + fields_derived); "
        "null when all are 0."
    )


class SubjectOut(BaseModel):
    role: str = Field(description="applicant, beneficiary, mother, spouse ...")
    from_field: str | None = Field(description="`component.field` that names the subject.")
    citizen_id: str | None = Field(description="The subject's ID, once known.")


class ConsentStateOut(BaseModel):
    state: Literal["present", "missing", "subject_unknown"]
    consent_id: str | None
    code: str | None = Field(description="Why a consent would not allow the pull now.")


class ComponentError(BaseModel):
    code: str
    detail: str


class PlanEntry(BaseModel):
    component: str
    kind: Literal["state", "applicant"]
    name_vi: str
    name_en: str
    required: bool
    action: Literal["pull_legal_basis", "pull_with_consent", "applicant_supplies"]
    fields: list[Any] = Field(
        description="Record fields (state-held) or {name, element, required} (applicant)."
    )
    upload: bool | None = None
    derived_fields: list[Any] | None = Field(
        default=None,
        description="Applicant-component fields the hub fills from another value, never asked "
        "for: {name, element, required, derived_from} (the pointer that applies now).",
    )
    record_type: str | None = None
    owner_system: str | None = None
    subject: SubjectOut | None = None
    basis: dict[str, Any] | None = None
    consent: ConsentStateOut | None = None
    status: Literal["pending", "prefilled", "reused", "failed"] | None = None
    error: ComponentError | None = None
    fallback: Literal["applicant_supplies"] | None = None


class FieldProvenanceOut(BaseModel):
    source_system: str = Field(description="population, civil_status, land, tax; hub if reused.")
    connector_id: str | None
    source_reference: str | None
    retrieved_at: str
    last_updated: str | None
    dictionary_version: str | None
    verified: bool
    from_filing: str | None = Field(description="The earlier filing whose result was reused.")
    from_procedure: str | None = None
    basis: dict[str, str] = Field(description="{kind: legal|consent|derived, reference}")
    derived_from: str | None = Field(
        default=None,
        description="For a derived field, the pointer it is copied from (`component.field` "
        "or `applicant.citizen_id`); source_system `applicant` when that is not state data.",
    )
    corrected_at: str | None = Field(
        default=None,
        description="When the owning system accepted the applicant's correction of this "
        "value, which the dossier then took.",
    )


class OwnerAnswerOut(BaseModel):
    decision: Literal["accepted", "rejected"]
    value: Any = Field(default=None, description="The value the owner now holds (accepted).")
    reason: str | None = Field(default=None, description="The owner's reason (rejected).")
    answered_at: UtcDateTime


class CorrectionOut(BaseModel):
    id: str
    filing_id: str
    field: str = Field(description="JSON Pointer of the disputed field.")
    record_type: str
    owner_system: str
    owner_agency: str
    source_reference: str | None
    current_value: Any
    claimed_value: Any
    note: str | None
    status: Literal["open", "forwarded", "resolved", "rejected"]
    owner_answer: OwnerAnswerOut | None = Field(
        description="What the owning system answered to the forwarded correction."
    )
    delivery: DeliveryOut | None = Field(
        description="The correction request's delivery to the owning system, once forwarded."
    )
    created_at: UtcDateTime
    updated_at: UtcDateTime


class ResultOut(BaseModel):
    id: str
    record_type: str
    record_version: str
    subject_id: str
    record: dict[str, Any]
    created_at: UtcDateTime
    confirmed_at: UtcDateTime | None = Field(
        description="When the system that owns the record type confirmed it; from then on "
        "that system, not the hub, is its source."
    )


class DecisionOut(BaseModel):
    decision: Literal["approved", "rejected"]
    reason: str | None
    decided_at: UtcDateTime | None


class FilingSummary(BaseModel):
    id: str
    procedure: str
    procedure_name_vi: str
    procedure_name_en: str
    status: Literal["draft", "prefilled", "submitted", "approved", "rejected"]
    agency: str
    applicant_id: str
    on_behalf_of: str | None
    created_at: UtcDateTime
    submitted_at: UtcDateTime | None
    decided_at: UtcDateTime | None
    declare_once: DeclareOnceOut


class FilingOut(FilingSummary):
    subject_id: str
    officer_id: str
    case_id: str | None
    updated_at: UtcDateTime
    plan: list[PlanEntry]
    dossier: dict[str, dict[str, Any]] = Field(description="{component: {field: value}}")
    provenance: dict[str, FieldProvenanceOut] = Field(
        description="Per pre-filled field, keyed by its JSON Pointer."
    )
    locked_fields: list[str] = Field(description="Verified fields: PATCH refuses to change them.")
    typed_fields: list[str]
    corrections: list[CorrectionOut]
    decision: DecisionOut | None
    result: ResultOut | None
    deliveries: list[DeliveryOut] = Field(
        description="The result's deliveries to the systems that hold the data."
    )


class DeclareOnceRow(DeclareOnceOut):
    filings: int


class ProcedureRow(DeclareOnceRow):
    procedure: str


class AgencyRow(DeclareOnceRow):
    agency: str


class DeclareOnceStats(BaseModel):
    total: DeclareOnceRow
    by_procedure: list[ProcedureRow]
    by_agency: list[AgencyRow]


class ProcedureSummary(BaseModel):
    code: str
    name_vi: str
    name_en: str
    level: Literal["commune", "province"]
    authority_vi: str
    authority_en: str
    result_record_type: str = Field(description="The record type the procedure's result is.")
    components: int = Field(description="How many dossier components it has.")
    state_components: int = Field(description="How many of them the state already holds.")


class ProcedureDetail(Procedure):
    dossier_schema: dict[str, Any] = Field(
        description="The JSON Schema 2020-12 of the procedure's dossier."
    )
