"""The Dictionary: the loaded content, its compiled validators, and publishing new versions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from dictionary.compat import Violation, check_compatibility, comparable_history
from dictionary.compile import RecordValidator, reference_problems
from dictionary.errors import (
    IncompatibleVersion,
    InvalidRecordVersion,
    InvalidTransition,
    UnknownRecordType,
    VersionConflict,
)
from dictionary.model import (
    CodeList,
    CompatibilityMode,
    Element,
    RecordType,
    RecordVersion,
    Status,
)
from dictionary.procedure_lint import procedure_problems
from dictionary.procedures import (
    DossierValidator,
    Procedure,
    UnknownProcedure,
    compile_procedure,
)

if TYPE_CHECKING:
    from dictionary.lint import LintProblem

_STATUS_ORDER: dict[str, int] = {"draft": 0, "published": 1, "deprecated": 2}
_TRANSITIONS: frozenset[tuple[str, str]] = frozenset(
    {("draft", "published"), ("published", "deprecated")}
)


@dataclass(frozen=True, slots=True)
class LoadNote:
    """Something the loader noticed that does not stop loading; lint reports it."""

    code: str
    where: str
    message: str


@dataclass(frozen=True, slots=True)
class PublishResult:
    version: RecordVersion
    created: bool


@dataclass(frozen=True, slots=True)
class RecordTypeSummary:
    name: str
    owner_system: str
    compatibility: str
    versions: int
    latest: str
    fields: int
    rules: int
    valid_examples: int
    invalid_examples: int

    @property
    def examples(self) -> int:
        return self.valid_examples + self.invalid_examples

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "owner_system": self.owner_system,
            "compatibility": self.compatibility,
            "versions": self.versions,
            "latest": self.latest,
            "fields": self.fields,
            "rules": self.rules,
            "valid_examples": self.valid_examples,
            "invalid_examples": self.invalid_examples,
            "examples": self.examples,
        }


class Dictionary:
    """Elements, code lists and record types, with a cache of compiled validators."""

    def __init__(
        self,
        elements: Mapping[str, Element],
        codelists: Mapping[str, CodeList],
        record_types: Mapping[str, RecordType],
        *,
        source: Path | None = None,
        notes: list[LoadNote] | None = None,
        procedures: Mapping[str, Procedure] | None = None,
    ) -> None:
        self.elements: dict[str, Element] = dict(elements)
        self.codelists: dict[str, CodeList] = dict(codelists)
        self.record_types: dict[str, RecordType] = dict(record_types)
        self.source = source
        self.notes: list[LoadNote] = list(notes or [])
        self._validators: dict[tuple[str, str], RecordValidator] = {}
        self.procedures: dict[str, Procedure] = dict(procedures or {})
        self._dossiers: dict[str, DossierValidator] = {}

    def copy(self) -> Dictionary:
        """The same content, publishing on its own: the models are frozen and shared, the
        mappings that publishing changes and the compiled validators are not."""
        return Dictionary(
            self.elements,
            self.codelists,
            self.record_types,
            source=self.source,
            notes=self.notes,
            procedures=self.procedures,
        )

    def __repr__(self) -> str:
        return (
            f"Dictionary({len(self.elements)} elements, {len(self.codelists)} code lists, "
            f"{len(self.record_types)} record types)"
        )

    # -- lookups

    def record_type(self, name: str) -> RecordType:
        try:
            return self.record_types[name]
        except KeyError:
            raise UnknownRecordType(name) from None

    def record_version(self, name: str, version: str | None = None) -> RecordVersion:
        record_type = self.record_type(name)
        return record_type.latest() if version is None else record_type.version(version)

    def validator(self, name: str, version: str | None = None) -> RecordValidator:
        """The compiled validator of ``name`` at ``version`` (latest published if None)."""
        record_type = self.record_type(name)
        chosen = record_type.latest() if version is None else record_type.version(version)
        key = (name, chosen.version)
        validator = self._validators.get(key)
        if validator is None or validator.version_id != chosen.id:
            validator = RecordValidator(record_type, chosen, self.elements, self.codelists)
            self._validators[key] = validator
        return validator

    def procedure(self, code: str) -> Procedure:
        try:
            return self.procedures[code]
        except KeyError:
            raise UnknownProcedure(code) from None

    def dossier_validator(self, code: str) -> DossierValidator:
        """The compiled dossier schema of procedure ``code`` (cached)."""
        validator = self._dossiers.get(code)
        if validator is None:
            validator = compile_procedure(self.procedure(code), self)
            self._dossiers[code] = validator
        return validator

    # -- versions

    def _parse_candidate(self, candidate: RecordVersion | Mapping[str, Any]) -> RecordVersion:
        if isinstance(candidate, RecordVersion):
            return candidate
        try:
            return RecordVersion.model_validate(dict(candidate))
        except ValidationError as exc:
            problems = [
                f"{'.'.join(str(p) for p in e['loc']) or '<version>'}: {e['msg']}"
                for e in exc.errors()
            ]
            raise InvalidRecordVersion(problems) from None

    def check_compatibility(
        self, name: str, candidate: RecordVersion | Mapping[str, Any]
    ) -> list[Violation]:
        """Every violation of the record type's compatibility mode by ``candidate``."""
        record_type = self.record_type(name)
        version = self._parse_candidate(candidate)
        self._refuse_dangling(name, version)
        return check_compatibility(
            record_type.compatibility,
            version,
            self.history(record_type, version),
            self.elements,
            self.codelists,
        )

    def history(self, record_type: RecordType, version: RecordVersion) -> list[RecordVersion]:
        """The versions ``version`` must stay compatible with: earlier, not drafts, and
        resolvable (a version whose elements are gone cannot be compared; lint reports it)."""
        return [
            v
            for v in comparable_history(record_type.versions, version)
            if not reference_problems(v, self.elements, self.codelists)
        ]

    def _refuse_dangling(self, name: str, version: RecordVersion) -> None:
        problems = reference_problems(version, self.elements, self.codelists)
        if problems:
            raise InvalidRecordVersion([f"{name} {version.version}: {m}" for _, m in problems])

    def example_problems(
        self, record_type: RecordType, version: RecordVersion
    ) -> list[tuple[str, str]]:
        """(code, message) for each example of ``version`` that does not behave as declared."""
        validator = RecordValidator(record_type, version, self.elements, self.codelists)
        examples = version.examples
        problems: list[tuple[str, str]] = []
        for index, record in enumerate(examples.valid):
            issues = validator.validate(record, as_of=examples.as_of)
            if issues:
                found = ", ".join(f"{i.code} at {i.path or '/'}" for i in issues)
                problems.append(
                    ("example_invalid", f"valid example {index} does not validate: {found}")
                )
        for index, example in enumerate(examples.invalid):
            issues = validator.validate(example.record, as_of=example.as_of or examples.as_of)
            found_codes = sorted({i.code for i in issues})
            if found_codes != sorted(set(example.errors)):
                problems.append(
                    (
                        "example_wrong_errors",
                        f"invalid example {index} gives {found_codes or 'no errors'}, "
                        f"declared {sorted(set(example.errors))}",
                    )
                )
        return problems

    def publish(
        self, name: str, candidate: RecordVersion | Mapping[str, Any], *, check: bool = True
    ) -> PublishResult:
        """Add ``candidate`` as a new version of ``name``, if it keeps the compatibility mode.

        Publishing content that a version already has returns that version (created=False).
        A version number is never reused for other content, and new numbers sort last.
        ``check=False`` skips the compatibility and example checks, for replaying versions
        that passed them when they were published (the mode may have changed since).
        """
        record_type = self.record_type(name)
        version = self._parse_candidate(candidate)
        for existing in record_type.versions:
            if existing.version != version.version:
                continue
            if existing.id == version.id:
                return PublishResult(existing, created=False)
            raise VersionConflict(
                name,
                version.version,
                f"version {version.version} exists with other content ({existing.id}); "
                "published versions are immutable",
            )
        for existing in record_type.versions:
            if existing.id == version.id:
                return PublishResult(existing, created=False)
        newest = record_type.versions[-1]
        if version.semver <= newest.semver:
            raise VersionConflict(
                name,
                version.version,
                f"a new version must sort after the newest one, {newest.version}",
            )
        self._refuse_dangling(name, version)
        if check:
            violations = check_compatibility(
                record_type.compatibility,
                version,
                self.history(record_type, version),
                self.elements,
                self.codelists,
            )
            if violations:
                raise IncompatibleVersion(name, record_type.compatibility, violations)
            misbehaving = self.example_problems(record_type, version)
            if misbehaving:
                raise InvalidRecordVersion(
                    [f"{name} {version.version}: {m}" for _, m in misbehaving]
                )
        self.record_types[name] = record_type.with_version(version)
        return PublishResult(version, created=True)

    def set_status(
        self, name: str, version: str, status: Status, *, check: bool = True
    ) -> RecordVersion:
        """Move a version one step along its lifecycle: draft -> published -> deprecated.

        Setting the status a version already has changes nothing. Publishing a draft checks it
        against its history under the record type's compatibility mode *now* (the mode may
        have changed since the draft was added); ``check=False`` skips that, for replaying
        transitions that were checked when they were made.
        """
        record_type = self.record_type(name)
        current = record_type.version(version)
        if status == current.status:
            return current
        if (current.status, status) not in _TRANSITIONS:
            direction = (
                "cannot go back"
                if _STATUS_ORDER[status] < _STATUS_ORDER[current.status]
                else "cannot skip a step"
            )
            raise InvalidTransition(
                name,
                version,
                current.status,
                status,
                f"status {direction} from {current.status} to {status} "
                "(draft -> published -> deprecated)",
            )
        updated = current.model_copy(update={"status": status})
        if check and status == "published":
            self._refuse_dangling(name, updated)
            violations = check_compatibility(
                record_type.compatibility,
                updated,
                self.history(record_type, updated),
                self.elements,
                self.codelists,
            )
            if violations:
                raise IncompatibleVersion(name, record_type.compatibility, violations)
        versions = tuple(updated if v.version == version else v for v in record_type.versions)
        self.record_types[name] = record_type.model_copy(update={"versions": versions})
        return updated

    def set_compatibility(self, name: str, mode: CompatibilityMode) -> RecordType:
        """Change the mode that the record type's next versions are checked under."""
        record_type = self.record_type(name)
        if record_type.compatibility != mode:
            record_type = record_type.model_copy(update={"compatibility": mode})
            self.record_types[name] = record_type
        return record_type

    # -- quality

    def lint(self) -> list[LintProblem]:
        from dictionary.lint import LintProblem, lint

        problems = lint(self)
        for code in sorted(self.procedures):
            problems += [
                LintProblem(kind, f"procedure {code}", message)
                for kind, message in procedure_problems(self.procedures[code], self)
            ]
        return problems

    def summary(self) -> list[RecordTypeSummary]:
        """One row per record type, for ``declare-once dictionary check``."""
        rows = []
        for name in sorted(self.record_types):
            record_type = self.record_types[name]
            latest = record_type.latest()
            rows.append(
                RecordTypeSummary(
                    name=name,
                    owner_system=record_type.owner_system,
                    compatibility=record_type.compatibility,
                    versions=len(record_type.versions),
                    latest=latest.version,
                    fields=len(latest.fields),
                    rules=len(latest.rules),
                    valid_examples=sum(len(v.examples.valid) for v in record_type.versions),
                    invalid_examples=sum(len(v.examples.invalid) for v in record_type.versions),
                )
            )
        return rows

    def codes_as_of(self, codelist: str, when: date | None = None) -> frozenset[str]:
        version = self.codelists[codelist].as_of(when or date.today())
        return version.codes if version is not None else frozenset()
