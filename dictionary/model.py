"""The dictionary's data model: elements, code lists, record types and their versions.

Every model is frozen: a published version never changes in place, and publishing a new
one builds a new RecordType. The YAML content under ``national/`` is parsed straight into
these models (see docs/contracts.md section 1), so unknown keys are refused rather than
silently ignored: a misspelt ``requierd`` must not quietly make a field optional.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from typing import Annotated, Any, Literal

import orjson
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictStr,
    computed_field,
    field_validator,
    model_validator,
)

DataType = Literal[
    "string", "integer", "decimal", "boolean", "date", "datetime", "code", "object", "list"
]
Sensitivity = Literal["public", "internal", "personal", "sensitive_personal"]
Status = Literal["draft", "published", "deprecated"]
Cardinality = Literal["0..1", "1..1", "0..n", "1..n"]
CompatibilityMode = Literal[
    "NONE",
    "BACKWARD",
    "FORWARD",
    "FULL",
    "BACKWARD_TRANSITIVE",
    "FORWARD_TRANSITIVE",
    "FULL_TRANSITIVE",
]
OwnerSystem = Literal["population", "civil_status", "land", "tax", "hub"]
Scalar = StrictStr | bool | int | float

ELEMENT_ID = r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$"
FIELD_NAME = r"^[a-z][a-z0-9_]*$"
_SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*))*))?"
    r"(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$"
)


def semver_key(version: str) -> tuple[int, int, int, int, tuple[tuple[int, int | str], ...]]:
    """Sort key for a semantic version: a pre-release sorts before its release (SemVer 2.0)."""
    match = _SEMVER.match(version)
    if match is None:
        raise ValueError(f"{version!r} is not a semantic version (MAJOR.MINOR.PATCH)")
    major, minor, patch, pre = match.groups()
    if pre is None:
        return (int(major), int(minor), int(patch), 1, ())
    parts = tuple((0, int(p)) if p.isdigit() else (1, p) for p in pre.split("."))
    return (int(major), int(minor), int(patch), 0, parts)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# ---------------------------------------------------------------------------------------------
# Elements


class Constraints(_Frozen):
    min_length: int | None = Field(default=None, ge=0)
    max_length: int | None = Field(default=None, ge=0)
    pattern: str | None = None
    minimum: int | float | None = None
    maximum: int | float | None = None
    exclusive_minimum: int | float | None = None
    exclusive_maximum: int | float | None = None
    enum: tuple[Scalar, ...] | None = None
    min_items: int | None = Field(default=None, ge=0)
    max_items: int | None = Field(default=None, ge=0)

    @field_validator("pattern")
    @classmethod
    def _pattern_compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"pattern {value!r} is not a regular expression: {exc}") from None
        return value


class PropertyRef(_Frozen):
    """One property of an object element: which element it holds and whether it must be there."""

    element: str
    required: bool = False


class ObjectSpec(_Frozen):
    """An inline object, used for the items of a list element (a household's members)."""

    type: Literal["object"] = "object"
    properties: dict[str, PropertyRef]


class Element(_Frozen):
    id: str = Field(pattern=ELEMENT_ID)
    name_vi: str | None = None
    name_en: str | None = None
    definition_vi: str | None = None
    definition_en: str | None = None
    type: DataType
    format: str | None = None
    codelist: str | None = None
    constraints: Constraints = Constraints()
    sensitivity: Sensitivity
    owner: str | None = None
    items: str | ObjectSpec | None = None
    properties: dict[str, PropertyRef] | None = None

    @field_validator("items", mode="before")
    @classmethod
    def _bare_properties_are_an_object(cls, value: object) -> object:
        # `items: {citizen_id: {element: ...}, ...}` is read as the inline object it means.
        if (
            isinstance(value, dict)
            and "properties" not in value
            and value
            and all(isinstance(v, dict) and "element" in v for v in value.values())
        ):
            return {"properties": value}
        return value

    @property
    def namespace(self) -> str:
        return self.id.split(".", 1)[0]


# ---------------------------------------------------------------------------------------------
# Code lists


class CodeListEntry(_Frozen):
    code: StrictStr = Field(min_length=1)
    label_vi: str
    label_en: str | None = None
    parent: StrictStr | None = None


class CodeListVersion(_Frozen):
    version: str
    effective_from: date | None = None
    effective_to: date | None = None
    source: str | None = None
    crosswalk_from_previous: dict[str, tuple[str, ...]] | None = None
    entries: tuple[CodeListEntry, ...]

    @field_validator("version", mode="before")
    @classmethod
    def _version_as_text(cls, value: object) -> object:
        # YAML reads an unquoted `version: 2025` as a number; the version is a label.
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("crosswalk_from_previous", mode="before")
    @classmethod
    def _targets_as_tuples(cls, value: object) -> object:
        if isinstance(value, dict):
            return {k: (v,) if isinstance(v, str) else v for k, v in value.items()}
        return value

    @model_validator(mode="after")
    def _codes_unique(self) -> CodeListVersion:
        counts = Counter(e.code for e in self.entries)
        duplicates = sorted(code for code, count in counts.items() if count > 1)
        if duplicates:
            raise ValueError(f"version {self.version}: duplicate codes {duplicates}")
        if (
            self.effective_from is not None
            and self.effective_to is not None
            and self.effective_to < self.effective_from
        ):
            raise ValueError(f"version {self.version}: effective_to is before effective_from")
        return self

    @cached_property
    def codes(self) -> frozenset[str]:
        return frozenset(e.code for e in self.entries)

    @cached_property
    def _by_code(self) -> dict[str, CodeListEntry]:
        return {e.code: e for e in self.entries}

    def entry(self, code: str) -> CodeListEntry | None:
        return self._by_code.get(code)

    def in_force(self, when: date) -> bool:
        if self.effective_from is None or when < self.effective_from:
            return False
        return self.effective_to is None or when <= self.effective_to


class CodeList(_Frozen):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name_vi: str | None = None
    name_en: str | None = None
    definition_vi: str | None = None
    definition_en: str | None = None
    owner: str | None = None
    versions: tuple[CodeListVersion, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _versions_unique(self) -> CodeList:
        labels = [v.version for v in self.versions]
        if len(set(labels)) != len(labels):
            raise ValueError(f"code list {self.id}: duplicate version labels {labels}")
        return self

    def as_of(self, when: date) -> CodeListVersion | None:
        """The version in force on ``when`` (effective_to is inclusive), or None."""
        for version in self.versions:
            if version.in_force(when):
                return version
        return None

    def version(self, label: str) -> CodeListVersion:
        for version in self.versions:
            if version.version == label:
                return version
        raise KeyError(f"code list {self.id} has no version {label!r}")

    @cached_property
    def all_codes(self) -> frozenset[str]:
        """Every code that any version ever held."""
        return frozenset().union(*(v.codes for v in self.versions))

    def crosswalk(
        self, code: str, from_version: str | None = None, to_version: str | None = None
    ) -> tuple[str, ...]:
        """Map ``code`` of ``from_version`` to the code(s) of ``to_version``.

        Versions are walked in order, one crosswalk step at a time, so a code can be carried
        across several reforms; a split fans out into several codes. Defaults: ``to_version``
        is the last version, ``from_version`` the one just before it. A code that a step's
        crosswalk does not list keeps its value when the next version still has it, and is
        dropped otherwise. Unknown codes of ``from_version`` give an empty tuple.
        """
        labels = [v.version for v in self.versions]
        target = labels.index(to_version) if to_version is not None else len(labels) - 1
        if to_version is not None and to_version not in labels:
            raise KeyError(f"code list {self.id} has no version {to_version!r}")
        if from_version is None:
            start = max(target - 1, 0)
        elif from_version in labels:
            start = labels.index(from_version)
        else:
            raise KeyError(f"code list {self.id} has no version {from_version!r}")
        if start > target:
            raise ValueError("a crosswalk only runs forward, from an older version to a newer")
        if code not in self.versions[start].codes:
            return ()
        current: tuple[str, ...] = (code,)
        for step in self.versions[start + 1 : target + 1]:
            mapping = step.crosswalk_from_previous or {}
            following: list[str] = []
            for value in current:
                targets = mapping.get(value)
                if targets is None:
                    targets = (value,) if value in step.codes else ()
                following.extend(t for t in targets if t not in following)
            current = tuple(following)
        return current


# ---------------------------------------------------------------------------------------------
# Cross-field rules (generic kinds; the record type only names the fields)


class _Rule(_Frozen):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    description: str | None = None

    @property
    def fields(self) -> tuple[str, ...]:
        """The record fields the rule reads, in the order that names the issue's path."""
        raise AttributeError("each rule kind lists its fields")


class CitizenIdMatchesBirthRule(_Rule):
    """Digit 4 (century and sex, Circular 59/2021/TT-BCA) and digits 5-6 (year) of a citizen ID."""

    kind: Literal["citizen_id_matches_birth"]
    citizen_id: str
    date_of_birth: str
    sex: str | None = None
    male: str = "M"
    female: str = "F"

    @property
    def fields(self) -> tuple[str, ...]:
        return (self.citizen_id, self.date_of_birth) + ((self.sex,) if self.sex else ())


class DateOrderRule(_Rule):
    kind: Literal["date_order"]
    earlier: str
    later: str
    strict: bool = False

    @property
    def fields(self) -> tuple[str, ...]:
        return (self.later, self.earlier)


class MinimumAgeRule(_Rule):
    """Age in whole years at ``at`` (a date field; the as-of date when unset) is >= years."""

    kind: Literal["minimum_age"]
    date_of_birth: str
    at: str | None = None
    years: int | None = Field(default=None, ge=0)
    sex: str | None = None
    years_by_sex: dict[str, int] | None = None

    @model_validator(mode="after")
    def _one_threshold(self) -> MinimumAgeRule:
        if (self.years is None) == (self.years_by_sex is None):
            raise ValueError(f"rule {self.id}: give either years or years_by_sex")
        if self.years_by_sex is not None and not self.sex:
            raise ValueError(f"rule {self.id}: years_by_sex needs the sex field")
        return self

    @property
    def fields(self) -> tuple[str, ...]:
        extra = tuple(f for f in (self.at, self.sex) if f)
        return (self.date_of_birth, *extra)


class CompareRule(_Rule):
    kind: Literal["compare"]
    field: str
    op: Literal["<", "<=", ">", ">=", "==", "!="]
    value: Scalar | None = None
    other: str | None = None

    @model_validator(mode="after")
    def _one_operand(self) -> CompareRule:
        if (self.value is None) == (self.other is None):
            raise ValueError(f"rule {self.id}: give either value or other (a field)")
        return self

    @property
    def fields(self) -> tuple[str, ...]:
        return (self.field, self.other) if self.other else (self.field,)


Rule = Annotated[
    CitizenIdMatchesBirthRule | DateOrderRule | MinimumAgeRule | CompareRule,
    Field(discriminator="kind"),
]


# ---------------------------------------------------------------------------------------------
# Record types


class FieldSpec(_Frozen):
    name: str = Field(pattern=FIELD_NAME)
    element: str
    required: bool
    cardinality: Cardinality

    @model_validator(mode="before")
    @classmethod
    def _required_and_cardinality_agree(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        required, cardinality = data.get("required"), data.get("cardinality")
        if cardinality is None:
            data["cardinality"] = "1..1" if required else "0..1"
            data["required"] = bool(required)
        elif required is None:
            data["required"] = str(cardinality).startswith("1")
        elif bool(required) != str(cardinality).startswith("1"):
            raise ValueError(
                f"field {data.get('name')}: required={required} contradicts cardinality "
                f"{cardinality}"
            )
        return data

    @property
    def is_list(self) -> bool:
        return self.cardinality.endswith("n")


class InvalidExample(_Frozen):
    record: Any
    errors: tuple[str, ...] = Field(min_length=1)
    as_of: date | None = None
    description: str | None = None


class Examples(_Frozen):
    """Records that must validate, and records that must fail with exactly the listed codes."""

    valid: tuple[dict[str, Any], ...] = ()
    invalid: tuple[InvalidExample, ...] = ()
    as_of: date | None = None


class RecordVersion(_Frozen):
    version: str
    status: Status = "published"
    fields: tuple[FieldSpec, ...] = Field(min_length=1)
    rules: tuple[Rule, ...] = ()
    examples: Examples = Examples()
    notes: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _drop_derived_id(cls, data: Any) -> Any:
        # A dumped version carries its content id; it is derived, so it is recomputed.
        if isinstance(data, dict) and "id" in data:
            data = {k: v for k, v in data.items() if k != "id"}
        return data

    @field_validator("version")
    @classmethod
    def _semver(cls, value: str) -> str:
        semver_key(value)
        return value

    @model_validator(mode="after")
    def _names_unique(self) -> RecordVersion:
        names = [f.name for f in self.fields]
        if len(set(names)) != len(names):
            raise ValueError(f"version {self.version}: duplicate field names")
        ids = [r.id for r in self.rules]
        if len(set(ids)) != len(ids):
            raise ValueError(f"version {self.version}: duplicate rule ids")
        return self

    def content(self) -> dict[str, Any]:
        """What the version *is*: its fields and rules, in canonical JSON-ready form."""
        return {
            "fields": [f.model_dump(mode="json") for f in self.fields],
            "rules": [r.model_dump(mode="json", exclude_none=True) for r in self.rules],
        }

    @computed_field  # type: ignore[prop-decorator]
    @cached_property
    def id(self) -> str:
        """Content address: sha256 of the canonical JSON of fields and rules."""
        canonical = orjson.dumps(self.content(), option=orjson.OPT_SORT_KEYS)
        return "sha256:" + hashlib.sha256(canonical).hexdigest()

    @cached_property
    def semver(self) -> tuple[int, int, int, int, tuple[tuple[int, int | str], ...]]:
        return semver_key(self.version)

    def field(self, name: str) -> FieldSpec | None:
        for spec in self.fields:
            if spec.name == name:
                return spec
        return None


class RecordType(_Frozen):
    name: str = Field(pattern=r"^[A-Z][A-Za-z0-9]*$")
    title_vi: str | None = None
    title_en: str | None = None
    description_vi: str | None = None
    description_en: str | None = None
    owner_system: OwnerSystem
    subject_field: str
    subject_fields: tuple[str, ...] = ()
    per_subject: Literal["one", "many"] = "one"
    compatibility: CompatibilityMode = "BACKWARD"
    versions: tuple[RecordVersion, ...] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _subject_fields(cls, data: Any) -> Any:
        # A record pulled by either of two people (a marriage) names both: a list is accepted.
        if isinstance(data, dict):
            data = dict(data)
            subject = data.get("subject_field")
            if isinstance(subject, list | tuple):
                data["subject_fields"] = tuple(subject)
                data["subject_field"] = subject[0] if subject else ""
            elif not data.get("subject_fields") and isinstance(subject, str):
                data["subject_fields"] = (subject,)
        return data

    @field_validator("versions")
    @classmethod
    def _in_order(cls, versions: tuple[RecordVersion, ...]) -> tuple[RecordVersion, ...]:
        labels = [v.version for v in versions]
        if len(set(labels)) != len(labels):
            raise ValueError(f"duplicate version numbers {labels}")
        return tuple(sorted(versions, key=lambda v: v.semver))

    def version(self, label: str) -> RecordVersion:
        from dictionary.errors import UnknownVersion

        for candidate in self.versions:
            if candidate.version == label:
                return candidate
        raise UnknownVersion(self.name, label)

    def latest(self) -> RecordVersion:
        """The newest published version; the newest of any status when none is published."""
        for candidate in reversed(self.versions):
            if candidate.status == "published":
                return candidate
        return self.versions[-1]

    def with_version(self, version: RecordVersion) -> RecordType:
        ordered = tuple(sorted((*self.versions, version), key=lambda v: v.semver))
        return self.model_copy(update={"versions": ordered})


# ---------------------------------------------------------------------------------------------
# Validation results


@dataclass(frozen=True, slots=True)
class ValidationIssue:
    """One problem with a record: where (JSON Pointer), which element, a stable code, a text."""

    path: str
    element: str | None
    code: str
    message: str

    def as_dict(self) -> dict[str, str | None]:
        return {
            "path": self.path,
            "element": self.element,
            "code": self.code,
            "message": self.message,
        }
