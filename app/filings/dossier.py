"""The dossier: the officer's edits."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import Unprocessable
from app.filings.derive import derive
from app.filings.errors import FieldDerived, FieldVerifiedLocked
from app.filings.events import filing_changed
from app.filings.models import Filing
from app.filings.reading import LoadedFiling
from app.filings.schemas import FilingOut
from app.filings.states import require_editable
from app.filings.values import pointer, split_pointer, value_at
from app.filings.views import filing_out
from app.hub import Hub
from app.security.actor import Actor
from app.timestamps import utcnow
from dictionary import Dictionary
from dictionary.procedures import (
    ApplicantComponent,
    DossierValidator,
    Procedure,
    StateComponent,
)


def _component_fields(component: StateComponent | ApplicantComponent) -> list[str]:
    if isinstance(component, ApplicantComponent):
        return [f.name for f in component.fields]
    return list(component.fields)


def apply_changes(
    dictionary: Dictionary,
    procedure: Procedure,
    filing: Filing,
    changes: Mapping[str, Any],
) -> list[str]:
    """Set (or, with null, clear) dossier fields; returns the pointers changed.

    Refuses a change of a verified value (``field_verified_locked``), of a derived one
    (``field_derived``), and a value the dictionary does not accept (``validation_failed``
    with each issue's JSON Pointer). Derived fields follow their sources
    (:mod:`app.filings.derive`).
    """
    require_editable(filing)
    validator = dictionary.dossier_validator(procedure.code)
    dossier: dict[str, dict[str, Any]] = copy.deepcopy(filing.dossier)
    provenance = dict(filing.provenance)
    typed = list(filing.typed_fields)
    errors: list[dict[str, Any]] = []
    locked: list[dict[str, Any]] = []
    touched: list[str] = []
    attempted: dict[str, Any] = {}
    deferred: list[str] = []
    for component_id, values in changes.items():
        component = procedure.component(component_id)
        if component is None:
            errors.append(
                {
                    "path": f"/{component_id}",
                    "element": None,
                    "code": "unknown_component",
                    "message": f"{component_id!r} is not a component of {procedure.code}.",
                }
            )
            continue
        if not isinstance(values, Mapping):
            errors.append(
                {
                    "path": f"/{component_id}",
                    "element": None,
                    "code": "type",
                    "message": "A component's values are an object of field: value.",
                }
            )
            continue
        known = _component_fields(component)
        current = dossier.setdefault(component_id, {})
        for name, value in values.items():
            path = pointer(component_id, name)
            if name not in known:
                errors.append(
                    {
                        "path": path,
                        "element": None,
                        "code": "unknown_field",
                        "message": f"{name!r} is not a field of component {component_id}.",
                    }
                )
                continue
            attempted[path] = value
            origin = provenance.get(path)
            if origin is not None and origin.get("derived_from"):
                deferred.append(path)  # derived now: decided once the derivations have run
                continue
            if origin is not None and origin.get("verified") and value != current.get(name):
                locked.append(
                    {
                        "path": path,
                        "element": validator.field_element(component_id, name),
                        "code": "field_verified_locked",
                        "message": f"{path} was verified by {origin.get('source_system')}; "
                        "dispute it with a correction request instead.",
                    }
                )
                continue
            if origin is not None and value == current.get(name):
                continue
            provenance.pop(path, None)
            if value is None:
                current.pop(name, None)
                if path in typed:
                    typed.remove(path)
            else:
                current[name] = value
                if path not in typed:
                    typed.append(path)
            touched.append(path)
    if locked:
        raise FieldVerifiedLocked(
            "Government-verified fields cannot be overwritten.", errors=locked
        )
    if errors:
        raise Unprocessable("The changes name fields the dossier does not have.", errors=errors)
    derived, active = derive(
        procedure, filing.applicant_id, filing.component_states, dossier, provenance, typed
    )
    _refuse_derived(validator, active, attempted, dossier)
    for path in (p for p in deferred if p not in active and attempted[p] is not None):
        component_id, name = split_pointer(path)  # type: ignore[misc]
        dossier.setdefault(component_id, {})[name] = attempted[path]
        typed.append(path)
        touched.append(path)
    touched = [p for p in touched if p not in active]
    issues = []
    for component_id in dict.fromkeys(split_pointer(p)[0] for p in touched):  # type: ignore[index]
        for issue in validator.validate_component(
            component_id, dossier.get(component_id, {}), partial=True
        ):
            if any(issue.path == p or issue.path.startswith(p + "/") for p in touched):
                issues.append(issue.as_dict())
    if issues:
        raise Unprocessable("The dictionary does not accept these values.", errors=issues)
    filing.dossier = {k: v for k, v in dossier.items() if v}
    filing.provenance = provenance
    filing.typed_fields = typed
    filing.updated_at = utcnow()
    return sorted(set(touched) | set(derived))


def _refuse_derived(
    validator: DossierValidator,
    active: set[str],
    attempted: Mapping[str, Any],
    dossier: Mapping[str, Any],
) -> None:
    """``field_derived`` for a change of a field that a derivation fills (repeating the
    derived value is fine)."""
    refused = []
    for path in sorted(active & set(attempted)):
        if attempted[path] == value_at(dossier, path):
            continue
        component_id, name = split_pointer(path)  # type: ignore[misc]
        refused.append(
            {
                "path": path,
                "element": validator.field_element(component_id, name),
                "code": "field_derived",
                "message": f"{path} is derived from another value of the dossier; "
                "set that value instead.",
            }
        )
    if refused:
        raise FieldDerived("Derived fields are filled by the hub, never typed.", errors=refused)


async def set_fields(
    session: AsyncSession,
    hub: Hub,
    actor: Actor,
    current: LoadedFiling,
    changes: Mapping[str, Any],
) -> FilingOut:
    """:func:`apply_changes`, its ``fields_set`` event recorded before the change is written."""
    changed = apply_changes(hub.dictionary, current.procedure, current.filing, changes)
    await filing_changed(hub.audit, actor, current.filing, "fields_set", fields=changed)
    return await filing_out(session, current)
