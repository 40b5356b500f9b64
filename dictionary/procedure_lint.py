"""Lint of a procedure: every record type, field and element it names exists, and its
derivations and result are consistent (``procedure_problems``, run by the registry)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING

from dictionary.compile import reference_problems
from dictionary.errors import CompileError
from dictionary.procedures import (
    APPLICANT_ATTRIBUTES,
    ApplicantComponent,
    DossierValidator,
    Procedure,
    compile_procedure,
    component_record,
)

if TYPE_CHECKING:
    from dictionary.registry import Dictionary


def procedure_problems(procedure: Procedure, dictionary: Dictionary) -> list[tuple[str, str]]:
    """(code, message) for each dangling or inconsistent reference of ``procedure``."""
    problems: list[tuple[str, str]] = []
    fields_of: dict[str, set[str]] = {}
    for component in procedure.components:
        where = f"component {component.id}"
        if isinstance(component, ApplicantComponent):
            fields_of[component.id] = {f.name for f in component.fields}
            for item in component.fields:
                if item.element not in dictionary.elements:
                    problems.append(
                        (
                            "dangling_reference",
                            f"{where} field {item.name} refers to unknown element {item.element!r}",
                        )
                    )
            continue
        record_type = dictionary.record_types.get(component.record_type)
        if record_type is None:
            problems.append(
                (
                    "dangling_reference",
                    f"{where} refers to unknown record type {component.record_type!r}",
                )
            )
            fields_of[component.id] = set(component.fields)
            continue
        fields_of[component.id] = set(component.fields)
        if record_type.owner_system != component.owner_system:
            problems.append(
                (
                    "owner_system_mismatch",
                    f"{where}: {record_type.name} is held by "
                    f"{record_type.owner_system}, not {component.owner_system}",
                )
            )
        known = {f.name for f in record_type.latest().fields}
        for name in component.fields:
            if name not in known:
                problems.append(
                    (
                        "dangling_reference",
                        f"{where} names field {name!r} that {record_type.name} does not have",
                    )
                )
        if component.select is not None:
            if component.select.field not in component.fields:
                problems.append(
                    (
                        "dangling_reference",
                        f"{where} selects on {component.select.field!r}, which it does not pull",
                    )
                )
            if record_type.per_subject != "many":
                problems.append(
                    ("needless_selector", f"{where}: {record_type.name} is one per subject")
                )
    for component in procedure.state_components:
        refs = [("subject", component.subject.field)]
        if component.select is not None:
            refs.append(("select", component.select.equals))
        for what, ref in refs:
            if ref is None:
                continue
            other, name = ref.split(".", 1)
            # A selector may name the component's own field: a value given before the pull
            # picks the record, which the pull then fills in (and verifies).
            itself = other == component.id and what == "subject"
            if itself or name not in fields_of.get(other, set()):
                problems.append(
                    (
                        "dangling_reference",
                        f"component {component.id} {what} refers to "
                        f"{ref!r}, which is not a field of another component",
                    )
                )
    problems.extend(_derivation_problems(procedure, fields_of))
    result = procedure.result
    target = dictionary.record_types.get(result.record_type)
    if target is None:
        problems.append(
            ("dangling_reference", f"result refers to unknown record type {result.record_type!r}")
        )
    else:
        latest = target.latest()
        known = {f.name for f in latest.fields}
        given = set(result.from_dossier) | set(result.constants) | set(result.from_decision)
        for name in sorted(given - known):
            problems.append(
                (
                    "dangling_reference",
                    f"result names field {name!r} that {target.name} does not have",
                )
            )
        for spec in latest.fields:
            if spec.required and spec.name not in given:
                problems.append(
                    (
                        "result_incomplete",
                        f"result never fills {target.name}.{spec.name}, which is required",
                    )
                )
        for name in sorted(set(result.replaces) - known):
            problems.append(
                (
                    "dangling_reference",
                    f"result.replaces names field {name!r} that {target.name} does not have",
                )
            )
        for section, dossier_refs in (("", result.from_dossier), (".replaces", result.replaces)):
            for name, ref in dossier_refs.items():
                other, _, field_name = ref.partition(".")
                if field_name not in fields_of.get(other, set()):
                    problems.append(
                        (
                            "dangling_reference",
                            f"result{section} field {name} comes from {ref!r}, which is "
                            "not a field of a component",
                        )
                    )
    if not problems:
        for component in procedure.components:
            try:
                _, version = component_record(procedure, component, dictionary)
            except CompileError as exc:
                problems.extend(("compile_error", m) for m in exc.problems)
                continue
            problems.extend(reference_problems(version, dictionary.elements, dictionary.codelists))
    if not problems:
        problems.extend(_derived_value_problems(compile_procedure(procedure, dictionary)))
    return problems


def _derived_value_problems(validator: DossierValidator) -> list[tuple[str, str]]:
    """A constant a derivation gives is a value its field's element accepts."""
    problems: list[tuple[str, str]] = []
    for ref, item in validator.procedure.derived_fields.items():
        component_id, name = ref.split(".", 1)
        for derivation in item.derived_from:
            if derivation.value is None:
                continue
            values = {name: derivation.value}
            for issue in validator.validate_component(component_id, values, partial=True):
                problems.append(
                    (
                        "invalid_derived_value",
                        f"field {ref} is derived as {derivation.value!r}: {issue.message}",
                    )
                )
    return problems


def _derivation_problems(
    procedure: Procedure, fields_of: Mapping[str, set[str]]
) -> list[tuple[str, str]]:
    """A derivation reads a field the dossier has (or an attribute of the applicant), and no
    value depends on itself: through derivations, or through the pull of its own component."""
    problems: list[tuple[str, str]] = []
    for ref, item in procedure.derived_fields.items():
        reads: list[tuple[str, tuple[str, ...]]] = [
            (d.source, ("citizen_id",)) for d in item.derived_from if d.source is not None
        ]
        reads += [
            (read, APPLICANT_ATTRIBUTES)
            for d in item.derived_from
            for c in d.conditions
            for read in c.reads
        ]
        for read, of_applicant in reads:
            owner, _, name = read.partition(".")
            known: Collection[str] = (
                of_applicant if owner == "applicant" else fields_of.get(owner, set())
            )
            if name not in known:
                problems.append(
                    (
                        "dangling_reference",
                        f"field {ref} is derived from {read!r}, which is not a field of a "
                        "component nor an attribute of the applicant",
                    )
                )
        if ref in procedure.derivation_inputs(ref):
            problems.append(("derivation_cycle", f"field {ref} is derived from itself"))
    for component in procedure.state_components:
        pulled_by: list[str | None] = [component.subject.field]
        pulled_by.append(component.select.equals if component.select else None)
        for by in pulled_by:
            inputs = procedure.derivation_inputs(by) if by is not None else set()
            if any(read.split(".", 1)[0] == component.id for read in inputs):
                problems.append(
                    (
                        "derivation_cycle",
                        f"component {component.id} is pulled by {by!r}, which is derived "
                        "from the component itself",
                    )
                )
    return problems
