"""Checks of the dictionary content as a whole: what ``declare-once dictionary check`` runs."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

from dictionary.compat import check_compatibility
from dictionary.compile import element_problems, reference_problems
from dictionary.errors import CompileError, DictionaryLoadError
from dictionary.model import CodeList, Element, RecordType, RecordVersion
from dictionary.registry import Dictionary

# Which element types each rule kind's fields must have.
_DATES = frozenset({"date", "datetime"})


@dataclass(frozen=True, slots=True)
class LintProblem:
    code: str
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message} [{self.code}]"

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "where": self.where, "message": self.message}


def lint_dictionary(path: Path | None = None) -> list[LintProblem]:
    """Load and lint ``path``; a content folder that does not load is one problem per cause."""
    from dictionary.loader import load_dictionary

    try:
        dictionary = load_dictionary(path)
    except DictionaryLoadError as exc:
        return [LintProblem("load_error", str(path or "national"), p) for p in exc.problems]
    return lint(dictionary)


def lint(dictionary: Dictionary) -> list[LintProblem]:
    problems = [LintProblem(n.code, n.where, n.message) for n in dictionary.notes]
    for element in dictionary.elements.values():
        problems += _lint_element(element, dictionary)
    for codelist in dictionary.codelists.values():
        problems += _lint_codelist(codelist)
    for record_type in dictionary.record_types.values():
        problems += _lint_record_type(record_type, dictionary)
    return problems


def _lint_element(element: Element, dictionary: Dictionary) -> list[LintProblem]:
    where = f"element {element.id}"
    problems = []
    for language in ("vi", "en"):
        if not (getattr(element, f"definition_{language}") or "").strip():
            problems.append(
                LintProblem("missing_definition", where, f"definition_{language} is empty")
            )
        if not (getattr(element, f"name_{language}") or "").strip():
            problems.append(LintProblem("missing_name", where, f"name_{language} is empty"))
    problems += [
        LintProblem(c, where, m) for c, m in element_problems(element, dictionary.codelists)
    ]
    refs: list[str] = []
    if isinstance(element.items, str):
        refs.append(element.items)
    elif element.items is not None:
        refs += [p.element for p in element.items.properties.values()]
    refs += [p.element for p in (element.properties or {}).values()]
    for ref in refs:
        if ref not in dictionary.elements:
            problems.append(
                LintProblem("dangling_reference", where, f"refers to unknown element {ref!r}")
            )
    return problems


def _lint_codelist(codelist: CodeList) -> list[LintProblem]:
    where = f"codelist {codelist.id}"
    problems = []
    for language in ("vi", "en"):
        if not (getattr(codelist, f"definition_{language}") or "").strip():
            problems.append(
                LintProblem("missing_definition", where, f"definition_{language} is empty")
            )
    dated = []
    for version in codelist.versions:
        if version.effective_from is None:
            problems.append(
                LintProblem(
                    "missing_effective_date",
                    f"{where} version {version.version}",
                    "effective_from is not set",
                )
            )
        else:
            dated.append(version)
        if not version.entries:
            problems.append(
                LintProblem("empty_codelist", f"{where} version {version.version}", "no entries")
            )
    dated.sort(key=lambda v: v.effective_from)  # type: ignore[arg-type, return-value]
    for earlier, later in itertools.pairwise(dated):
        if earlier.effective_to is None or later.effective_from <= earlier.effective_to:  # type: ignore[operator]
            problems.append(
                LintProblem(
                    "codelist_overlap",
                    where,
                    f"versions {earlier.version} and {later.version} are both in force on "
                    f"{later.effective_from}",
                )
            )
    for previous, version in itertools.pairwise(codelist.versions):
        problems += _lint_crosswalk(
            where, previous.codes, version.version, version.codes, version.crosswalk_from_previous
        )
    return problems


def _lint_crosswalk(
    where: str,
    previous_codes: frozenset[str],
    label: str,
    codes: frozenset[str],
    crosswalk: dict[str, tuple[str, ...]] | None,
) -> list[LintProblem]:
    here = f"{where} version {label}"
    if crosswalk is None:
        gone = sorted(previous_codes - codes)
        if gone:
            return [
                LintProblem(
                    "crosswalk_missing",
                    here,
                    f"codes {gone} of the previous version are gone and no crosswalk maps them",
                )
            ]
        return []
    problems = []
    unknown = sorted(set(crosswalk) - previous_codes)
    if unknown:
        problems.append(
            LintProblem(
                "crosswalk_unknown_code",
                here,
                f"maps codes {unknown} that the previous version does not have",
            )
        )
    targets = sorted({t for ts in crosswalk.values() for t in ts} - codes)
    if targets:
        problems.append(
            LintProblem(
                "crosswalk_unknown_target",
                here,
                f"maps to codes {targets} that this version does not have",
            )
        )
    missing = sorted(previous_codes - set(crosswalk))
    if missing:
        problems.append(
            LintProblem(
                "crosswalk_incomplete",
                here,
                f"codes {missing} of the previous version are not mapped",
            )
        )
    return problems


def _lint_record_type(record_type: RecordType, dictionary: Dictionary) -> list[LintProblem]:
    problems: list[LintProblem] = []
    for language in ("vi", "en"):
        if not (getattr(record_type, f"title_{language}") or "").strip():
            problems.append(
                LintProblem(
                    "missing_title", f"record {record_type.name}", f"title_{language} is empty"
                )
            )
    for version in record_type.versions:
        problems += _lint_version(record_type, version, dictionary)
    return problems


def _lint_version(
    record_type: RecordType, version: RecordVersion, dictionary: Dictionary
) -> list[LintProblem]:
    where = f"record {record_type.name} {version.version}"
    references = reference_problems(version, dictionary.elements, dictionary.codelists)
    # Problems inside elements are reported once, under the element; here only the version's own.
    problems = [
        LintProblem(code, where, message)
        for code, message in references
        if message.startswith(("field ", "rule "))
    ]
    if references and not problems:
        problems.append(
            LintProblem(
                "not_checked",
                where,
                "compatibility and examples not checked: elements it uses have problems",
            )
        )
    names = {f.name for f in version.fields}
    for subject in record_type.subject_fields:
        if subject not in names:
            problems.append(
                LintProblem(
                    "dangling_reference", where, f"subject field {subject!r} is not a field"
                )
            )
    if problems:
        # Compatibility and examples need every reference resolved.
        return problems
    problems += _lint_rule_types(version, dictionary, where)
    history = dictionary.history(record_type, version)
    if version.status != "draft":
        violations = check_compatibility(
            record_type.compatibility, version, history, dictionary.elements, dictionary.codelists
        )
        problems += [
            LintProblem(
                "incompatible_history",
                where,
                f"breaks {record_type.compatibility}: {violation}",
            )
            for violation in violations
        ]
    try:
        examples = dictionary.example_problems(record_type, version)
    except CompileError as exc:
        return [*problems, *(LintProblem("schema_error", where, p) for p in exc.problems)]
    problems += [LintProblem(code, where, message) for code, message in examples]
    return problems


def _lint_rule_types(
    version: RecordVersion, dictionary: Dictionary, where: str
) -> list[LintProblem]:
    def element_type(field_name: str) -> str | None:
        spec = version.field(field_name)
        if spec is None or spec.is_list:
            return None
        return dictionary.elements[spec.element].type

    wanted: list[tuple[str, str, frozenset[str]]] = []
    for rule in version.rules:
        if rule.kind == "citizen_id_matches_birth":
            wanted += [
                (rule.id, rule.citizen_id, frozenset({"string"})),
                (rule.id, rule.date_of_birth, _DATES),
            ]
            if rule.sex:
                wanted.append((rule.id, rule.sex, frozenset({"code", "string"})))
        elif rule.kind == "date_order":
            wanted += [(rule.id, rule.earlier, _DATES), (rule.id, rule.later, _DATES)]
        elif rule.kind == "minimum_age":
            wanted.append((rule.id, rule.date_of_birth, _DATES))
            if rule.at:
                wanted.append((rule.id, rule.at, _DATES))
        elif rule.kind == "compare":
            kinds = frozenset({"integer", "decimal", "string", "code", "date", "datetime"})
            wanted.append((rule.id, rule.field, kinds))
    problems = []
    for rule_id, field_name, types in wanted:
        actual = element_type(field_name)
        if actual not in types:
            problems.append(
                LintProblem(
                    "rule_field_type",
                    where,
                    f"rule {rule_id}: field {field_name} is {actual or 'a list'}, expected one "
                    f"of {sorted(types)}",
                )
            )
    return problems
