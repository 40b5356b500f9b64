"""The procedure catalogue: administrative procedures and the dossiers they need.

A procedure lists its dossier *components*. Each is either **state-held** (a record type that
a national system already holds, the few fields the procedure needs, and the basis on which
the hub may pull them: a legal citation or the applicant's consent) or **applicant-supplied**
(dictionary elements that the applicant types or uploads). A component is about a *subject*:
the applicant, the person the filing is for (``beneficiary``), or another party whose ID the
dossier names (the mother in a birth registration, the spouse in a marriage).

The dossier schema is compiled from the components with the dictionary's own machinery:
each component becomes a small record version (its fields bound to the same elements, with
the record type's rules that still apply), so a dossier is validated exactly as records are.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from dictionary.compile import JSON_SCHEMA_DIALECT, RecordValidator
from dictionary.errors import CompileError, DictionaryError
from dictionary.model import (
    FIELD_NAME,
    FieldSpec,
    OwnerSystem,
    RecordType,
    RecordVersion,
    Scalar,
    ValidationIssue,
)

if TYPE_CHECKING:
    from dictionary.registry import Dictionary

PROCEDURE_CODE = r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$"
COMPONENT_ID = FIELD_NAME
# Roles whose subject is known from the filing itself; every other role names a field.
FILING_ROLES = ("applicant", "beneficiary")
DOSSIER_POINTER = r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$"
# What a derivation may read of the applicant: the ID the filing was opened with, and the sex
# that ID encodes (Circular 59/2021/TT-BCA).
APPLICANT_ATTRIBUTES = ("citizen_id", "sex")


class UnknownProcedure(DictionaryError, KeyError):
    def __init__(self, code: str) -> None:
        self.code = code
        super().__init__(f"The catalogue has no procedure {code!r}.")

    def __str__(self) -> str:
        return str(self.args[0])


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SubjectRef(_Frozen):
    """Whom a component is about: ``applicant``, ``beneficiary`` (the person the filing is on
    behalf of, else the applicant), or another ``role`` whose ID is the dossier value at
    ``field`` (``component.field``)."""

    role: str = Field(default="applicant", pattern=r"^[a-z][a-z_]*$")
    field: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")

    @model_validator(mode="before")
    @classmethod
    def _short_form(cls, data: Any) -> Any:
        return {"role": data} if isinstance(data, str) else data

    @model_validator(mode="after")
    def _field_for_other_roles(self) -> SubjectRef:
        if self.role in FILING_ROLES and self.field is not None:
            raise ValueError(f"subject role {self.role} takes its ID from the filing, not a field")
        if self.role not in FILING_ROLES and self.field is None:
            raise ValueError(f"subject role {self.role} needs the field that holds its ID")
        return self

    @property
    def reference(self) -> tuple[str, str] | None:
        if self.field is None:
            return None
        component, name = self.field.split(".", 1)
        return component, name


class ComponentBasis(_Frozen):
    """A legal basis with its citation, or the applicant's consent."""

    kind: Literal["legal", "consent"]
    citation: str | None = None

    @model_validator(mode="after")
    def _citation_for_legal(self) -> ComponentBasis:
        if self.kind == "legal" and not (self.citation or "").strip():
            raise ValueError("a legal basis needs its citation")
        return self


class Selector(_Frozen):
    """For a record type held many times per subject: the record whose ``field`` equals the
    dossier value at ``equals`` (``component.field``, possibly the component's own field,
    given before the pull); the first record when that is unset."""

    field: str
    equals: str = Field(pattern=r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")


class _Component(_Frozen):
    id: str = Field(pattern=COMPONENT_ID)
    name_vi: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    description_en: str | None = None
    required: bool = True


class StateComponent(_Component):
    kind: Literal["state"]
    record_type: str
    owner_system: OwnerSystem
    fields: tuple[str, ...] = Field(min_length=1)
    subject: SubjectRef = SubjectRef()
    basis: ComponentBasis
    select: Selector | None = None

    @model_validator(mode="after")
    def _fields_unique(self) -> StateComponent:
        if len(set(self.fields)) != len(self.fields):
            raise ValueError(f"component {self.id}: duplicate fields")
        return self


class DerivationCondition(_Frozen):
    """A test of the value at ``field`` (``component.field``, or ``applicant.sex``): it is one
    of ``equals``; it is the same as the value at ``equals_field``; or, a date, it is no later
    than the date at ``not_after``. A value the dossier does not hold yet fails every test."""

    field: str = Field(pattern=DOSSIER_POINTER)
    equals: tuple[Scalar, ...] = ()
    equals_field: str | None = Field(default=None, pattern=DOSSIER_POINTER)
    not_after: str | None = Field(default=None, pattern=DOSSIER_POINTER)

    @model_validator(mode="before")
    @classmethod
    def _one_value(cls, data: Any) -> Any:
        if (
            isinstance(data, dict)
            and "equals" in data
            and not isinstance(data.get("equals"), list | tuple)
        ):
            return {**data, "equals": [data.get("equals")]}
        return data

    @model_validator(mode="after")
    def _one_test(self) -> DerivationCondition:
        tests = [bool(self.equals), self.equals_field is not None, self.not_after is not None]
        if sum(tests) != 1:
            raise ValueError("a condition has exactly one of equals, equals_field, not_after")
        return self

    @property
    def reads(self) -> tuple[str, ...]:
        """The pointers the condition reads."""
        other = self.equals_field or self.not_after
        return (self.field, other) if other is not None else (self.field,)


class Derivation(_Frozen):
    """A field's value taken from ``source`` (another component's field, or
    ``applicant.citizen_id``), or the constant ``value`` that conditions on state data
    establish (a relationship a register records), when every condition of ``when`` holds
    (always, without it)."""

    source: str | None = Field(default=None, pattern=DOSSIER_POINTER)
    value: Scalar | None = None
    when: DerivationCondition | tuple[DerivationCondition, ...] | None = None

    @model_validator(mode="before")
    @classmethod
    def _short_form(cls, data: Any) -> Any:
        return {"source": data} if isinstance(data, str) else data

    @model_validator(mode="after")
    def _source_or_value(self) -> Derivation:
        if (self.source is None) == (self.value is None):
            raise ValueError("a derivation has either a source or a value")
        if self.value is not None and not self.conditions:
            raise ValueError("a constant value is derived only under a condition")
        return self

    @property
    def conditions(self) -> tuple[DerivationCondition, ...]:
        if self.when is None:
            return ()
        return self.when if isinstance(self.when, tuple) else (self.when,)

    @property
    def evidence(self) -> str:
        """Where the value comes from: the source, or for a constant the field of the first
        condition (the record that establishes it)."""
        return self.source if self.source is not None else self.conditions[0].field

    @property
    def reads(self) -> tuple[str, ...]:
        """Every pointer the derivation reads: its source and its conditions'."""
        own = (self.source,) if self.source is not None else ()
        return own + tuple(r for c in self.conditions for r in c.reads)


class ApplicantField(_Frozen):
    """A field the applicant supplies, unless it is ``derived_from`` a value the dossier
    already holds: the first derivation whose condition holds and whose source can still
    give a value fills it, and the applicant is never asked for it."""

    name: str = Field(pattern=FIELD_NAME)
    element: str
    required: bool = True
    derived_from: tuple[Derivation, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _one_derivation(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("derived_from"), str | dict):
            return {**data, "derived_from": [data["derived_from"]]}
        return data


class ApplicantComponent(_Component):
    kind: Literal["applicant"]
    upload: bool = False
    fields: tuple[ApplicantField, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _fields_unique(self) -> ApplicantComponent:
        names = [f.name for f in self.fields]
        if len(set(names)) != len(names):
            raise ValueError(f"component {self.id}: duplicate fields")
        return self


Component = Annotated[StateComponent | ApplicantComponent, Field(discriminator="kind")]


class ResultSpec(_Frozen):
    """The record a procedure produces when approved, built from the dossier, constants and
    what the deciding agency gives (a registration number, the date)."""

    record_type: str
    from_dossier: dict[str, str] = Field(default_factory=dict)
    constants: dict[str, Scalar] = Field(default_factory=dict)
    from_decision: tuple[str, ...] = ()
    # The record of the same type this result takes the place of (a transfer's old
    # certificate), from the dossier: delivered beside the result so the owning system can
    # check what it cancels.
    replaces: dict[str, str] = Field(default_factory=dict)


class Procedure(_Frozen):
    code: str = Field(pattern=PROCEDURE_CODE)
    name_vi: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    level: Literal["commune", "province"]
    authority_vi: str = Field(min_length=1)
    authority_en: str = Field(min_length=1)
    legal_basis: tuple[str, ...] = Field(min_length=1)
    processing_days: int | None = Field(default=None, ge=0)
    description_en: str | None = None
    components: tuple[Component, ...] = Field(min_length=1)
    result: ResultSpec

    @model_validator(mode="after")
    def _components_unique(self) -> Procedure:
        ids = [c.id for c in self.components]
        if len(set(ids)) != len(ids):
            raise ValueError(f"procedure {self.code}: duplicate component ids")
        return self

    def component(self, component_id: str) -> StateComponent | ApplicantComponent | None:
        for component in self.components:
            if component.id == component_id:
                return component
        return None

    @property
    def state_components(self) -> tuple[StateComponent, ...]:
        return tuple(c for c in self.components if isinstance(c, StateComponent))

    @property
    def derived_fields(self) -> dict[str, ApplicantField]:
        """The fields that may be derived, by ``component.field``."""
        return {
            f"{c.id}.{f.name}": f
            for c in self.components
            if isinstance(c, ApplicantComponent)
            for f in c.fields
            if f.derived_from
        }

    def derivation_inputs(self, ref: str) -> set[str]:
        """Every ``component.field`` the value at ``ref`` may be derived from, transitively
        (conditions included); ``ref`` itself when it is in the set, a cycle."""
        derived = self.derived_fields
        seen: set[str] = set()
        todo = [ref]
        while todo:
            item = derived.get(todo.pop())
            for derivation in item.derived_from if item is not None else ():
                for read in derivation.reads:
                    if not read.startswith("applicant.") and read not in seen:
                        seen.add(read)
                        todo.append(read)
        return seen


# ---------------------------------------------------------------------------------------------
# Compilation: components -> record versions -> validators and one dossier JSON Schema


def _camel(text: str) -> str:
    return "".join(part.capitalize() for part in text.replace("-", "_").split("_") if part)


def component_record(
    procedure: Procedure,
    component: StateComponent | ApplicantComponent,
    dictionary: Dictionary,
) -> tuple[RecordType, RecordVersion]:
    """The component as a record version of its own, for the dictionary's compiler."""
    name = f"Dossier{_camel(procedure.code)}{_camel(component.id)}"
    if isinstance(component, ApplicantComponent):
        specs = [
            FieldSpec(name=f.name, element=f.element, required=f.required)  # type: ignore[call-arg]
            for f in component.fields
        ]
        rules: tuple[Any, ...] = ()
        owner: OwnerSystem = "hub"
    else:
        source = dictionary.record_type(component.record_type).latest()
        specs = []
        for field_name in component.fields:
            spec = source.field(field_name)
            if spec is None:
                raise CompileError(
                    [
                        f"{procedure.code}/{component.id}: {component.record_type} has no "
                        f"field {field_name!r}"
                    ]
                )
            specs.append(spec)
        chosen = set(component.fields)
        rules = tuple(r for r in source.rules if set(r.fields) <= chosen)
        owner = component.owner_system
    version = RecordVersion(version="1.0.0", fields=tuple(specs), rules=rules)
    record_type = RecordType(
        name=name,
        title_en=component.name_en,
        title_vi=component.name_vi,
        owner_system=owner,
        subject_field=specs[0].name,
        versions=(version,),
    )
    return record_type, version


@dataclass(frozen=True)
class DossierValidator:
    """A procedure's dossier schema, compiled: one validator per component."""

    procedure: Procedure
    validators: Mapping[str, RecordValidator]

    @property
    def json_schema(self) -> dict[str, Any]:
        properties: dict[str, Any] = {}
        for component in self.procedure.components:
            schema = self.validators[component.id].json_schema
            for key in ("$schema", "$id", "x-version", "x-version-id", "x-record-type"):
                schema.pop(key, None)
            schema["x-component-kind"] = component.kind
            if isinstance(component, StateComponent):
                schema["x-record-type"] = component.record_type
                schema["x-owner-system"] = component.owner_system
            properties[component.id] = schema
        return {
            "$schema": JSON_SCHEMA_DIALECT,
            "$id": f"urn:declare-once:procedure:{self.procedure.code}",
            "title": self.procedure.name_en,
            "type": "object",
            "properties": properties,
            "required": [c.id for c in self.procedure.components if c.required],
            "additionalProperties": False,
        }

    def field_element(self, component_id: str, field_name: str) -> str | None:
        validator = self.validators.get(component_id)
        return validator.element_of.get(field_name) if validator is not None else None

    def validate_component(
        self, component_id: str, values: Mapping[str, Any], *, partial: bool = False
    ) -> list[ValidationIssue]:
        """Issues of one component, with paths from the dossier's root. ``partial`` leaves
        out missing required fields and cross-field rules (a dossier being filled in)."""
        issues = self.validators[component_id].validate(dict(values))
        prefixed = [
            ValidationIssue(f"/{component_id}{i.path}", i.element, i.code, i.message)
            for i in issues
        ]
        if partial:
            prefixed = [
                i for i in prefixed if i.code != "required" and not i.code.startswith("rule.")
            ]
        return prefixed

    def validate(self, dossier: Mapping[str, Mapping[str, Any]]) -> list[ValidationIssue]:
        """Every issue of a whole dossier. An optional component left empty is fine."""
        issues: list[ValidationIssue] = []
        for name in sorted(set(dossier) - {c.id for c in self.procedure.components}):
            issues.append(
                ValidationIssue(
                    f"/{name}",
                    None,
                    "unknown_component",
                    f"{name!r} is not a component of {self.procedure.code}.",
                )
            )
        for component in self.procedure.components:
            values = {k: v for k, v in (dossier.get(component.id) or {}).items() if v is not None}
            if not values and not component.required:
                continue
            issues.extend(self.validate_component(component.id, values))
        return issues


def compile_procedure(procedure: Procedure, dictionary: Dictionary) -> DossierValidator:
    validators: dict[str, RecordValidator] = {}
    for component in procedure.components:
        record_type, version = component_record(procedure, component, dictionary)
        validators[component.id] = RecordValidator(
            record_type, version, dictionary.elements, dictionary.codelists
        )
    return DossierValidator(procedure, validators)
