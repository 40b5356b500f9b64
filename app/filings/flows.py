"""The declare-once flow: it crosses domains (consent, the data path, the access log).

- :func:`plan` says, per component, whether the hub can pull it under a legal basis, can pull
  it with the applicant's consent (present or missing: a read-only check that spends no use),
  or needs the applicant to supply it.
- :func:`prefill` pulls every pullable component **concurrently** (one ``pull_record`` per
  component, each on its own database session), or reuses the approved result of an earlier
  filing. A component whose source fails is marked with its error code and falls back to
  the applicant; the filing itself never fails for it.
- Every change of a filing appends a ``filing.changed`` event with the subject set.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import State as HubState

from app.audit.events import AuditEntry, EventKind, Outcome
from app.consent.basis import Basis, check_consent, decide_basis
from app.db import format_exception_redacted
from app.errors import HubError
from app.exchange.service import ProcedureGrant, PullContext, pull_record
from app.filings import service
from app.filings.models import CorrectionRequest, Filing, FilingResult
from app.security.roles import ClientPrincipal
from dictionary.procedures import ApplicantComponent, Procedure, StateComponent

log = logging.getLogger("hub.filings")


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts on a filing: the consumer client, its officer, the case and request."""

    principal: ClientPrincipal
    officer_id: str
    case_id: str | None
    request_id: str | None


# ---------------------------------------------------------------------------------------------
# Audit


async def record_change(
    state: HubState,
    actor: Actor,
    filing: Filing,
    action: str,
    *,
    fields: list[str] | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """One ``filing.changed`` event: names of fields only, never their values."""
    await state.audit.append(
        AuditEntry(
            kind=EventKind.FILING_CHANGED,
            outcome=Outcome.OK,
            client_id=actor.principal.client_id,
            agency=actor.principal.agency,
            officer_id=actor.officer_id,
            case_id=actor.case_id,
            subject_id=filing.subject_id,
            fields=list(fields or []),
            purpose=filing.procedure,
            procedure=filing.procedure,
            filing_id=filing.id,
            request_id=actor.request_id,
            details={"action": action, "status": filing.status, **(details or {})},
        )
    )


# ---------------------------------------------------------------------------------------------
# The plan


async def plan(
    session: AsyncSession, procedure: Procedure, filing: Filing, client_id: str
) -> list[dict[str, Any]]:
    """Per component: what the hub will do, and where it stands now."""
    entries = []
    for component in procedure.components:
        entry: dict[str, Any] = {
            "component": component.id,
            "kind": component.kind,
            "name_vi": component.name_vi,
            "name_en": component.name_en,
            "required": component.required,
        }
        if isinstance(component, ApplicantComponent):
            entry.update(
                action="applicant_supplies",
                upload=component.upload,
                fields=[f.model_dump() for f in component.fields],
            )
            entries.append(entry)
            continue
        subject = service.subject_of(filing, component)
        state = filing.component_states.get(component.id) or {}
        entry.update(
            record_type=component.record_type,
            owner_system=component.owner_system,
            fields=list(component.fields),
            subject={
                "role": component.subject.role,
                "from_field": component.subject.field,
                "citizen_id": subject,
            },
            basis=component.basis.model_dump(),
            status=state.get("status", "pending"),
            error=state.get("error"),
        )
        if component.basis.kind == "legal":
            entry["action"] = "pull_legal_basis"
        else:
            entry["action"] = "pull_with_consent"
            entry["consent"] = await _consent_state(
                session, procedure, component, subject, client_id
            )
        if entry["status"] == "failed":
            entry["fallback"] = "applicant_supplies"
        entries.append(entry)
    return entries


async def _consent_state(
    session: AsyncSession,
    procedure: Procedure,
    component: StateComponent,
    subject: str | None,
    client_id: str,
) -> dict[str, Any]:
    if subject is None:
        return {"state": "subject_unknown", "consent_id": None, "code": None}
    check = await check_consent(
        session,
        client_id=client_id,
        subject_id=subject,
        record_type=component.record_type,
        fields=list(component.fields),
        purpose=procedure.code,
    )
    return {
        "state": "present" if check.ok else "missing",
        "consent_id": check.consent_id,
        "code": check.code,
    }


# ---------------------------------------------------------------------------------------------
# Prefill


@dataclass(slots=True)
class _Outcome:
    subject_id: str
    record: dict[str, Any] | None = None
    provenance: dict[str, Any] | None = None
    status: str = "failed"
    error: dict[str, Any] | None = None


def _failed(subject_id: str, code: str, detail: str) -> _Outcome:
    return _Outcome(subject_id, error={"code": code, "detail": detail})


def _choose(
    component: StateComponent,
    records: list[dict[str, Any]],
    dossier: dict[str, Any],
) -> int | None:
    if not records:
        return None
    if component.select is None:
        return 0
    other, name = component.select.equals.split(".", 1)
    wanted = (dossier.get(other) or {}).get(name)
    if wanted is None:
        return 0
    for index, record in enumerate(records):
        if record.get(component.select.field) == wanted:
            return index
    return None


async def _reuse(
    state: HubState,
    session: AsyncSession,
    actor: Actor,
    filing: Filing,
    component: StateComponent,
    subject_id: str,
    result: FilingResult,
) -> _Outcome:
    """An earlier filing's approved result stands in for the source: same basis, own event."""
    entry = AuditEntry(
        kind=EventKind.FILING_PREFILL,
        outcome=Outcome.DENIED,
        client_id=actor.principal.client_id,
        agency=actor.principal.agency,
        officer_id=actor.officer_id,
        case_id=actor.case_id,
        subject_id=subject_id,
        record_type=component.record_type,
        fields=list(component.fields),
        purpose=filing.procedure,
        procedure=filing.procedure,
        filing_id=filing.id,
        request_id=actor.request_id,
        details={"reused_from_filing": result.filing_id, "component": component.id},
    )
    try:
        basis: Basis = await decide_basis(
            session,
            client_id=actor.principal.client_id,
            subject_id=subject_id,
            record_type=component.record_type,
            fields=list(component.fields),
            purpose=filing.procedure,
            legal_basis=component.basis.citation if component.basis.kind == "legal" else None,
            audit=state.audit,
        )
    except HubError as exc:
        entry.error_code = exc.code
        await state.audit.append(entry)
        raise
    entry.outcome = Outcome.ALLOWED
    entry.basis = basis.as_audit()
    await state.audit.append(entry)
    record = {k: result.record[k] for k in component.fields if k in result.record}
    return _Outcome(
        subject_id,
        record=record,
        status="reused",
        provenance={
            "source_system": "hub",
            "connector_id": None,
            "source_reference": f"filing/{result.filing_id}",
            "from_filing": result.filing_id,
            "from_procedure": result.procedure,
            "retrieved_at": service.utcnow().isoformat(),
            "last_updated": result.created_at.replace(
                tzinfo=result.created_at.tzinfo or UTC
            ).isoformat(),
            "dictionary_version": result.record_version,
            "verified": True,
            "basis": basis.as_dict(),
        },
    )


async def _pull_component(
    state: HubState,
    actor: Actor,
    filing: Filing,
    component: StateComponent,
    subject_id: str,
    dossier: dict[str, Any],
) -> _Outcome:
    legal = component.basis.citation if component.basis.kind == "legal" else None
    fields = list(component.fields)
    ctx = PullContext(
        principal=actor.principal,
        officer_id=actor.officer_id,
        purpose=filing.procedure,
        case_id=actor.case_id,
        request_id=actor.request_id,
        filing_id=filing.id,
        procedure=filing.procedure,
    )
    try:
        async with state.sessionmaker() as session:
            earlier = await service.find_result(session, component.record_type, subject_id)
            await session.commit()
            if earlier is not None:
                return await _reuse(state, session, actor, filing, component, subject_id, earlier)
        # No session held across the fetch: pull_record opens its own only for a consent.
        pulled = await pull_record(
            state,
            None,
            ctx,
            component.record_type,
            subject_id,
            fields,
            grant=ProcedureGrant(procedure=filing.procedure, fields=fields, legal_basis=legal),
        )
    except HubError as exc:
        return _failed(subject_id, exc.code, exc.detail)
    except Exception as exc:
        # No database error's message in the log: it can quote a value of the dossier.
        log.error(
            "prefill of %s/%s failed\n%s", filing.id, component.id, format_exception_redacted(exc)
        )
        return _failed(subject_id, "internal_error", "The pull failed unexpectedly.")
    index = _choose(component, pulled.records, dossier)
    if index is None:
        return _failed(
            subject_id,
            "no_matching_record",
            f"{component.record_type} holds no record that matches the dossier.",
        )
    provenances = pulled.provenances or [pulled.provenance]
    origin = provenances[index] if index < len(provenances) else pulled.provenance
    return _Outcome(
        subject_id,
        record={k: v for k, v in pulled.records[index].items() if k in set(fields)},
        status="prefilled",
        provenance={
            **service.json_ready(origin.as_dict()),
            "from_filing": None,
            "basis": pulled.basis.as_dict(),
        },
    )


def _blocked(component: StateComponent, pending: set[str]) -> bool:
    """Whether the component's subject (or selector) comes from a component still to pull."""
    refs = [component.subject.field, component.select.equals if component.select else None]
    return any(ref is not None and ref.split(".", 1)[0] in pending for ref in refs)


async def prefill(state: HubState, actor: Actor, filing_id: str) -> Filing:
    """Pull every pullable component at once; see the module docstring.

    No database session is held while the sources answer; the pulled values are merged
    into the filing as it stands afterwards, so a PATCH made meanwhile is kept.
    """
    async with state.sessionmaker() as session:
        filing = await service.get_filing(session, filing_id, actor.principal.client_id)
        service.require_transition(filing, service.PREFILLED)
        await session.commit()
    procedure = service.procedure_of(state.dictionary, filing.procedure)
    dossier: dict[str, dict[str, Any]] = copy.deepcopy(filing.dossier)
    pulled: dict[str, tuple[Any, dict[str, Any] | None]] = {}
    states: dict[str, Any] = {}
    todo = [
        c
        for c in procedure.state_components
        if (filing.component_states.get(c.id) or {}).get("status") not in service.FROM_STATE
    ]
    # Components whose subject is another component's pulled value wait for it: a second
    # wave. Every component of one wave is pulled concurrently.
    while todo:
        pending = {c.id for c in todo}
        wave: list[tuple[StateComponent, str]] = []
        for component in todo:
            if _blocked(component, pending - {component.id}):
                continue
            subject = service.subject_of(filing, component, dossier)
            if subject is not None:
                wave.append((component, subject))
        if not wave:
            break
        outcomes = await asyncio.gather(
            *(_pull_component(state, actor, filing, c, s, dossier) for c, s in wave)
        )
        for (component, _), outcome in zip(wave, outcomes, strict=True):
            states[component.id] = {
                "status": outcome.status,
                "error": outcome.error,
                "subject_id": outcome.subject_id,
            }
            for name, value in (outcome.record or {}).items():
                if value is not None:
                    value = service.json_ready(value)
                    dossier.setdefault(component.id, {})[name] = value
                    pulled[service.pointer(component.id, name)] = (value, outcome.provenance)
        done = {c.id for c, _ in wave}
        todo = [c for c in todo if c.id not in done]
    for component in todo:
        states[component.id] = {
            "status": "failed",
            "error": {
                "code": "subject_unknown",
                "detail": f"Fill {component.subject.field} first: it names whom this "
                "component is about.",
            },
            "subject_id": None,
        }
    async with state.sessionmaker() as session:
        current = await service.get_filing(session, filing_id, actor.principal.client_id)
        service.require_transition(current, service.PREFILLED)
        merged = copy.deepcopy(current.dossier)
        provenance = dict(current.provenance)
        typed = [p for p in current.typed_fields if p not in pulled]
        for path, (value, origin) in pulled.items():
            component_id, name = path.strip("/").split("/")
            merged.setdefault(component_id, {})[name] = value
            provenance[path] = origin
        current.dossier = merged
        current.provenance = provenance
        current.typed_fields = typed
        current.component_states = {**current.component_states, **states}
        current.status = service.PREFILLED
        current.updated_at = service.utcnow()
        await session.commit()
    failed = sorted(k for k, v in states.items() if v["status"] == "failed")
    await record_change(
        state,
        actor,
        current,
        "prefilled",
        fields=sorted(pulled),
        details={"failed_components": failed},
    )
    return current


# ---------------------------------------------------------------------------------------------
# The filing as the consumer (and the applicant's preview) sees it


def aware(moment: datetime | None) -> datetime | None:
    """SQLite hands timestamps back without their zone; every one the hub writes is UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def correction_view(correction: CorrectionRequest) -> dict[str, Any]:
    return {
        "id": correction.id,
        "filing_id": correction.filing_id,
        "field": correction.field,
        "record_type": correction.record_type,
        "owner_system": correction.owner_system,
        "owner_agency": correction.owner_agency,
        "source_reference": correction.source_reference,
        "current_value": correction.values.get("current"),
        "claimed_value": correction.values.get("claimed"),
        "note": correction.note,
        "status": correction.status,
        "created_at": aware(correction.created_at),
        "updated_at": aware(correction.updated_at),
    }


def result_view(result: FilingResult | None) -> dict[str, Any] | None:
    if result is None:
        return None
    return {
        "id": result.id,
        "record_type": result.record_type,
        "record_version": result.record_version,
        "subject_id": result.subject_id,
        "record": result.record,
        "created_at": aware(result.created_at),
    }


def summary_view(procedure: Procedure, filing: Filing) -> dict[str, Any]:
    """A filing in a list: no dossier values."""
    return {
        "id": filing.id,
        "procedure": filing.procedure,
        "procedure_name_vi": procedure.name_vi,
        "procedure_name_en": procedure.name_en,
        "status": filing.status,
        "agency": filing.agency,
        "applicant_id": filing.applicant_id,
        "on_behalf_of": filing.on_behalf_of,
        "created_at": aware(filing.created_at),
        "submitted_at": aware(filing.submitted_at),
        "decided_at": aware(filing.decided_at),
        "declare_once": service.declare_once_counts(procedure, filing).as_dict(),
    }


async def filing_view(
    session: AsyncSession, procedure: Procedure, filing: Filing
) -> dict[str, Any]:
    corrections = await service.corrections_of_filing(session, filing.id)
    result = await service.result_of_filing(session, filing.id)
    components = await plan(session, procedure, filing, filing.client_id)
    await session.commit()
    return {
        **summary_view(procedure, filing),
        "subject_id": filing.subject_id,
        "officer_id": filing.officer_id,
        "case_id": filing.case_id,
        "updated_at": aware(filing.updated_at),
        "plan": components,
        "dossier": filing.dossier,
        "provenance": filing.provenance,
        "locked_fields": sorted(p for p, o in filing.provenance.items() if o.get("verified")),
        "typed_fields": sorted(filing.typed_fields),
        "corrections": [correction_view(c) for c in corrections],
        "decision": (
            {
                "decision": filing.status,
                "reason": filing.decision_reason,
                "decided_at": aware(filing.decided_at),
            }
            if filing.status in (service.APPROVED, service.REJECTED)
            else None
        ),
        "result": result_view(result),
    }
