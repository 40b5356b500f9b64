"""Filings: the state machine, the dossier's edits, submission, decisions and corrections.

The logic only; no FastAPI here. The flow that pulls from the source systems (and that
crosses into consent, exchange and audit) lives in :mod:`app.filings.flows`.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import Conflict, NotFound, Unprocessable
from app.filings.errors import ProcedureNotGranted
from app.filings.models import CorrectionRequest, Filing, FilingResult
from app.security import service as security_service
from app.security.roles import ClientPrincipal
from dictionary import Dictionary
from dictionary.formats import is_citizen_id
from dictionary.procedures import (
    ApplicantComponent,
    Procedure,
    StateComponent,
    UnknownProcedure,
)

DRAFT, PREFILLED, SUBMITTED, APPROVED, REJECTED = (
    "draft",
    "prefilled",
    "submitted",
    "approved",
    "rejected",
)
# Prefill may run again while the dossier is still being prepared (a source that was down).
TRANSITIONS: dict[str, frozenset[str]] = {
    DRAFT: frozenset({PREFILLED}),
    PREFILLED: frozenset({PREFILLED, SUBMITTED}),
    SUBMITTED: frozenset({APPROVED, REJECTED}),
    APPROVED: frozenset(),
    REJECTED: frozenset(),
}
EDITABLE = frozenset({DRAFT, PREFILLED})
FROM_STATE = frozenset({"prefilled", "reused"})

# The agency that owns each national system: where a correction request goes.
OWNER_AGENCIES = {
    "population": "Ministry of Public Security (C06): National Population Database",
    "civil_status": "Ministry of Justice: Electronic Civil Status Database",
    "land": "Ministry of Agriculture and Environment: National Land Database",
    "tax": "Ministry of Finance: Tax Department",
    "hub": "The agency that decided the earlier filing",
}


class FilingNotFound(NotFound):
    status, code, title = 404, "filing_not_found", "Filing not found"


class ProcedureNotFound(NotFound):
    status, code, title = 404, "unknown_procedure", "Unknown procedure"


class IllegalFilingTransition(Conflict):
    status, code, title = 409, "illegal_filing_transition", "Illegal filing transition"


class FieldVerifiedLocked(Conflict):
    status, code, title = 409, "field_verified_locked", "Verified field is locked"


class ConfirmationRequired(Unprocessable):
    status, code, title = 422, "confirmation_required", "Confirmation required"


class DossierInvalid(Unprocessable):
    status, code, title = 422, "dossier_invalid", "Dossier invalid"


class IdempotencyKeyReused(Unprocessable):
    status, code, title = 422, "idempotency_key_reused", "Idempotency key reused"


class ResultInvalid(Unprocessable):
    status, code, title = 422, "result_invalid", "Result record invalid"


class InvalidCitizenId(Unprocessable):
    status, code, title = 422, "invalid_citizen_id", "Invalid citizen ID"


class FieldNotStateHeld(Unprocessable):
    status, code, title = 422, "field_not_state_held", "Field is not state-held"


def utcnow() -> datetime:
    return datetime.now(UTC)


def json_ready(value: Any) -> Any:
    """``value`` as plain JSON data (dates as ISO strings), fit for a JSON column."""
    return orjson.loads(orjson.dumps(value, default=str))


def pointer(component_id: str, field_name: str) -> str:
    return f"/{component_id}/{field_name}"


def split_pointer(path: str) -> tuple[str, str] | None:
    """``/component/field`` (or ``component.field``) -> (component, field)."""
    parts = path.strip("/").split("/") if path.startswith("/") else path.split(".")
    if len(parts) != 2 or not all(parts):
        return None
    return parts[0], parts[1]


def procedure_of(dictionary: Dictionary, code: str) -> Procedure:
    try:
        return dictionary.procedure(code)
    except UnknownProcedure:
        raise ProcedureNotFound(f"The catalogue has no procedure {code!r}.") from None


def require_transition(filing: Filing, target: str) -> None:
    if target not in TRANSITIONS[filing.status]:
        raise IllegalFilingTransition(
            f"A {filing.status} filing cannot become {target}.",
            extra={"status": filing.status, "target": target},
        )


def require_editable(filing: Filing) -> None:
    if filing.status not in EDITABLE:
        raise IllegalFilingTransition(
            f"A {filing.status} filing can no longer be changed.",
            extra={"status": filing.status, "target": filing.status},
        )


# ---------------------------------------------------------------------------------------------
# Reading


async def require_procedure_grant(session: AsyncSession, client_id: str, procedure: str) -> None:
    """Refuse a client whose agency is not granted ``procedure``, read afresh every time."""
    if not await security_service.is_procedure_granted(session, client_id, procedure):
        raise ProcedureNotGranted(
            f"This client is not granted procedure {procedure!r}; an admin grants it at "
            "PUT /v1/clients/{id}/procedure-grants.",
            extra={"procedure": procedure},
        )


async def get_filing(session: AsyncSession, filing_id: str, client_id: str) -> Filing:
    """The filing, if ``client_id`` opened it and is still granted its procedure.

    Another client gets the same 404 as a stranger; the client that opened it gets
    ``procedure_not_granted`` once its grant is removed.
    """
    filing = await session.get(Filing, filing_id, populate_existing=True)
    if filing is None or filing.client_id != client_id:
        raise FilingNotFound(f"No filing {filing_id!r}.")
    await require_procedure_grant(session, client_id, filing.procedure)
    return filing


async def filings_of_citizen(session: AsyncSession, citizen_id: str) -> list[Filing]:
    rows = await session.scalars(
        select(Filing)
        .where((Filing.applicant_id == citizen_id) | (Filing.on_behalf_of == citizen_id))
        .order_by(Filing.created_at.desc(), Filing.id)
    )
    return list(rows.all())


async def corrections_of_filing(session: AsyncSession, filing_id: str) -> list[CorrectionRequest]:
    rows = await session.scalars(
        select(CorrectionRequest)
        .where(CorrectionRequest.filing_id == filing_id)
        .order_by(CorrectionRequest.created_at, CorrectionRequest.id)
    )
    return list(rows.all())


async def corrections_of_citizen(session: AsyncSession, citizen_id: str) -> list[CorrectionRequest]:
    rows = await session.scalars(
        select(CorrectionRequest)
        .where(CorrectionRequest.applicant_id == citizen_id)
        .order_by(CorrectionRequest.created_at.desc(), CorrectionRequest.id)
    )
    return list(rows.all())


async def result_of_filing(session: AsyncSession, filing_id: str) -> FilingResult | None:
    row = await session.scalars(select(FilingResult).where(FilingResult.filing_id == filing_id))
    return row.first()


async def find_result(
    session: AsyncSession, record_type: str, subject_id: str
) -> FilingResult | None:
    """The newest approved result of an earlier filing: ``record_type`` about ``subject_id``."""
    rows = await session.scalars(
        select(FilingResult)
        .where(FilingResult.record_type == record_type, FilingResult.subject_id == subject_id)
        .order_by(FilingResult.created_at.desc())
        .limit(1)
    )
    return rows.first()


# ---------------------------------------------------------------------------------------------
# Opening


def check_citizen_id(value: str, path: str) -> None:
    if not is_citizen_id(value):
        raise InvalidCitizenId(
            f"{value!r} is not a citizen ID (12 digits).",
            errors=[
                {
                    "path": path,
                    "element": "person.citizen_id",
                    "code": "format.citizen_id",
                    "message": "A citizen ID is 12 digits starting with a province prefix.",
                }
            ],
        )


async def open_filing(
    session: AsyncSession,
    procedure: Procedure,
    *,
    principal: ClientPrincipal,
    officer_id: str,
    case_id: str | None,
    applicant_id: str,
    on_behalf_of: str | None,
) -> Filing:
    await require_procedure_grant(session, principal.client_id, procedure.code)
    check_citizen_id(applicant_id, "/applicant_id")
    if on_behalf_of is not None:
        check_citizen_id(on_behalf_of, "/on_behalf_of")
    now = utcnow()
    filing = Filing(
        id=str(uuid.uuid4()),
        procedure=procedure.code,
        client_id=principal.client_id,
        agency=principal.agency,
        officer_id=officer_id,
        case_id=case_id,
        applicant_id=applicant_id,
        on_behalf_of=on_behalf_of if on_behalf_of != applicant_id else None,
        status=DRAFT,
        dossier={},
        provenance={},
        component_states={
            c.id: {"status": "pending", "error": None, "subject_id": None}
            for c in procedure.state_components
        },
        typed_fields=[],
        fields_prefilled=0,
        fields_typed=0,
        components_from_state=0,
        components_supplied=0,
        created_at=now,
        updated_at=now,
    )
    session.add(filing)
    await session.commit()
    return filing


# ---------------------------------------------------------------------------------------------
# Subjects and metrics


def subject_of(
    filing: Filing, component: StateComponent, dossier: Mapping[str, Any] | None = None
) -> str | None:
    """The citizen (or tax code) the component is about, if the dossier already names it."""
    ref = component.subject
    if ref.role == "applicant":
        return filing.applicant_id
    if ref.role == "beneficiary":
        return filing.subject_id
    source = ref.reference
    assert source is not None
    values = filing.dossier if dossier is None else dossier
    value = (values.get(source[0]) or {}).get(source[1])
    return str(value) if value not in (None, "") else None


@dataclass(frozen=True, slots=True)
class DeclareOnceCounts:
    fields_prefilled: int
    fields_typed: int
    components_from_state: int
    components_supplied: int

    @property
    def rate(self) -> float | None:
        total = self.fields_prefilled + self.fields_typed
        return round(self.fields_prefilled / total, 4) if total else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "fields_prefilled": self.fields_prefilled,
            "fields_typed": self.fields_typed,
            "components_from_state": self.components_from_state,
            "components_supplied": self.components_supplied,
            "declare_once_rate": self.rate,
        }


def _value_at(dossier: Mapping[str, Any], path: str) -> Any:
    parts = split_pointer(path)
    if parts is None:
        return None
    return (dossier.get(parts[0]) or {}).get(parts[1])


def declare_once_counts(procedure: Procedure, filing: Filing) -> DeclareOnceCounts:
    """What state data saved the applicant on this filing, as it stands."""
    dossier = filing.dossier
    prefilled = [p for p in filing.provenance if _value_at(dossier, p) is not None]
    typed = [
        p
        for p in filing.typed_fields
        if _value_at(dossier, p) is not None and p not in filing.provenance
    ]
    from_state = sum(
        1
        for c in procedure.state_components
        if filing.component_states.get(c.id, {}).get("status") in FROM_STATE
    )
    typed_components = {split_pointer(p)[0] for p in typed}  # type: ignore[index]
    supplied = sum(1 for c in procedure.components if c.id in typed_components)
    return DeclareOnceCounts(len(prefilled), len(typed), from_state, supplied)


# ---------------------------------------------------------------------------------------------
# Editing the dossier


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

    Refuses a change of a verified value (``field_verified_locked``) and a value the
    dictionary does not accept (``validation_failed`` with each issue's JSON Pointer).
    """
    require_editable(filing)
    validator = dictionary.dossier_validator(procedure.code)
    dossier: dict[str, dict[str, Any]] = copy.deepcopy(filing.dossier)
    provenance = dict(filing.provenance)
    typed = list(filing.typed_fields)
    errors: list[dict[str, Any]] = []
    locked: list[dict[str, Any]] = []
    touched: list[str] = []
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
            origin = provenance.get(path)
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
    return touched


# ---------------------------------------------------------------------------------------------
# Submission and decision


async def submit(
    session: AsyncSession,
    dictionary: Dictionary,
    filing: Filing,
    *,
    confirm: bool,
    idempotency_key: str | None,
    request_hash: str,
) -> tuple[Filing, bool]:
    """Submit the filing; returns (filing, changed). A repeat returns the submitted filing."""
    if idempotency_key is not None and filing.submit_key == idempotency_key:
        if filing.submit_hash != request_hash:
            raise IdempotencyKeyReused(
                "This Idempotency-Key was used with another request body.",
                extra={"idempotency_key": idempotency_key},
            )
        return filing, False
    if filing.status in (SUBMITTED, APPROVED, REJECTED):
        return filing, False
    if not confirm:
        raise ConfirmationRequired(
            'The applicant must confirm the previewed dossier: send {"confirm": true}.'
        )
    require_transition(filing, SUBMITTED)
    procedure = procedure_of(dictionary, filing.procedure)
    issues = dictionary.dossier_validator(procedure.code).validate(filing.dossier)
    if issues:
        raise DossierInvalid(
            f"The dossier has {len(issues)} problem(s).", errors=[i.as_dict() for i in issues]
        )
    counts = declare_once_counts(procedure, filing)
    now = utcnow()
    # One conditional UPDATE: of two racing submits, only one moves the filing.
    result = await session.execute(
        update(Filing)
        .where(Filing.id == filing.id, Filing.status == PREFILLED)
        .values(
            status=SUBMITTED,
            submit_key=idempotency_key,
            submit_hash=request_hash,
            submitted_at=now,
            updated_at=now,
            fields_prefilled=counts.fields_prefilled,
            fields_typed=counts.fields_typed,
            components_from_state=counts.components_from_state,
            components_supplied=counts.components_supplied,
        )
        .execution_options(synchronize_session=False)
    )
    await session.commit()
    changed = getattr(result, "rowcount", 0) == 1
    refreshed = await session.get(Filing, filing.id, populate_existing=True)
    assert refreshed is not None
    if (
        not changed
        and idempotency_key is not None
        and refreshed.submit_key == idempotency_key
        and refreshed.submit_hash != request_hash
    ):
        raise IdempotencyKeyReused("This Idempotency-Key was used with another request body.")
    return refreshed, changed


def build_result(
    dictionary: Dictionary,
    procedure: Procedure,
    filing: Filing,
    given: Mapping[str, Any] | None,
) -> tuple[dict[str, Any], str, str]:
    """The result record from the dossier, constants and the decision's values, validated
    against its record type; returns (record, version, subject id)."""
    spec = procedure.result
    record: dict[str, Any] = {}
    for name, ref in spec.from_dossier.items():
        value = _value_at(filing.dossier, "/" + ref.replace(".", "/", 1))
        if value is not None:
            record[name] = value
    record.update(spec.constants)
    record.update({k: v for k, v in (given or {}).items() if v is not None})
    validator = dictionary.validator(spec.record_type)
    issues = validator.validate(record)
    if issues:
        raise ResultInvalid(
            f"The {spec.record_type} this approval produces is not valid.",
            errors=[i.as_dict() for i in issues],
        )
    record_type = dictionary.record_type(spec.record_type)
    subject = next(
        (str(record[f]) for f in record_type.subject_fields if record.get(f) is not None), None
    )
    if subject is None:
        raise ResultInvalid(f"The {spec.record_type} names no subject.")
    return record, validator.version, subject


async def decide(
    session: AsyncSession,
    dictionary: Dictionary,
    filing: Filing,
    *,
    decision: str,
    reason: str | None,
    result: Mapping[str, Any] | None,
) -> FilingResult | None:
    require_transition(filing, decision)
    procedure = procedure_of(dictionary, filing.procedure)
    now = utcnow()
    stored: FilingResult | None = None
    if decision == APPROVED:
        record, version, subject = build_result(dictionary, procedure, filing, result)
        stored = FilingResult(
            id=str(uuid.uuid4()),
            filing_id=filing.id,
            procedure=procedure.code,
            record_type=procedure.result.record_type,
            record_version=version,
            subject_id=subject,
            record=json_ready(record),
            created_at=now,
        )
    moved = await session.execute(
        update(Filing)
        .where(Filing.id == filing.id, Filing.status == SUBMITTED)
        .values(status=decision, decision_reason=reason, decided_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if getattr(moved, "rowcount", 0) != 1:
        await session.rollback()
        raise IllegalFilingTransition("The filing was decided concurrently.")
    if stored is not None:
        session.add(stored)
    await session.commit()
    await session.refresh(filing)
    return stored


# ---------------------------------------------------------------------------------------------
# Corrections


async def request_correction(
    session: AsyncSession,
    dictionary: Dictionary,
    filing: Filing,
    *,
    field: str,
    claimed_value: Any,
    note: str | None,
) -> CorrectionRequest:
    """A dispute of a state-held value, addressed to the agency that owns it."""
    procedure = procedure_of(dictionary, filing.procedure)
    parts = split_pointer(field)
    component = procedure.component(parts[0]) if parts else None
    path = pointer(*parts) if parts else field
    origin = filing.provenance.get(path)
    if not isinstance(component, StateComponent) or parts is None or origin is None:
        raise FieldNotStateHeld(
            f"{field} is not a value pulled from state data; fill it with PATCH instead.",
            errors=[
                {
                    "path": path,
                    "element": None,
                    "code": "field_not_state_held",
                    "message": "Only pre-filled state data can be disputed.",
                }
            ],
        )
    validator = dictionary.dossier_validator(procedure.code)
    issues = validator.validate_component(parts[0], {parts[1]: claimed_value}, partial=True)
    if issues:
        raise Unprocessable(
            "The claimed value is not valid for this field.",
            errors=[{**i.as_dict(), "path": "/claimed_value"} for i in issues],
        )
    system = "hub" if origin.get("from_filing") else component.owner_system
    now = utcnow()
    correction = CorrectionRequest(
        id=str(uuid.uuid4()),
        filing_id=filing.id,
        client_id=filing.client_id,
        applicant_id=filing.applicant_id,
        subject_id=filing.component_states.get(component.id, {}).get("subject_id"),
        field=path,
        record_type=component.record_type,
        owner_system=system,
        owner_agency=OWNER_AGENCIES.get(system, system),
        source_reference=origin.get("source_reference"),
        values=json_ready({"current": _value_at(filing.dossier, path), "claimed": claimed_value}),
        note=note,
        status="open",
        created_at=now,
        updated_at=now,
    )
    session.add(correction)
    await session.commit()
    return correction


async def set_correction_status(
    session: AsyncSession, filing: Filing, correction_id: str, status: str
) -> CorrectionRequest:
    correction = await session.get(CorrectionRequest, correction_id)
    if correction is None or correction.filing_id != filing.id:
        raise NotFound(f"No correction {correction_id!r}.", code="correction_not_found")
    allowed = {"open": {"forwarded", "resolved", "rejected"}, "forwarded": {"resolved", "rejected"}}
    if status not in allowed.get(correction.status, set()):
        raise Conflict(
            f"A {correction.status} correction cannot become {status}.",
            code="illegal_correction_transition",
        )
    correction.status = status
    correction.updated_at = utcnow()
    await session.commit()
    return correction


# ---------------------------------------------------------------------------------------------
# Statistics


async def declare_once_stats(session: AsyncSession) -> dict[str, Any]:
    """Declare-once counts of submitted filings, by procedure and by agency."""
    done = Filing.status.in_((SUBMITTED, APPROVED, REJECTED))
    columns = (
        func.count(Filing.id),
        func.coalesce(func.sum(Filing.fields_prefilled), 0),
        func.coalesce(func.sum(Filing.fields_typed), 0),
        func.coalesce(func.sum(Filing.components_from_state), 0),
        func.coalesce(func.sum(Filing.components_supplied), 0),
    )

    def row_of(values: Sequence[Any]) -> dict[str, Any]:
        filings, prefilled, typed, from_state, supplied = (int(v or 0) for v in values)
        counts = DeclareOnceCounts(prefilled, typed, from_state, supplied)
        return {"filings": filings, **counts.as_dict()}

    total = (await session.execute(select(*columns).where(done))).one()
    by_procedure = await session.execute(
        select(Filing.procedure, *columns).where(done).group_by(Filing.procedure)
    )
    by_agency = await session.execute(
        select(Filing.agency, *columns).where(done).group_by(Filing.agency)
    )
    return {
        "total": row_of(tuple(total)),
        "by_procedure": sorted(
            ({"procedure": r[0], **row_of(tuple(r[1:]))} for r in by_procedure.all()),
            key=lambda row: row["procedure"],
        ),
        "by_agency": sorted(
            ({"agency": r[0], **row_of(tuple(r[1:]))} for r in by_agency.all()),
            key=lambda row: row["agency"],
        ),
    }
