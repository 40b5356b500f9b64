"""The declare-once flow: it crosses domains (consent, the data path, the access log).

:func:`prefill` pulls every pullable component **concurrently**, one ``pull_record`` per
component under the procedure's grant. The data path asks the hub's own stored records
first (an earlier filing's approved result, :class:`app.filings.results.FilingResults`), so
a reused result is decided, cut and audited like any pull. A component whose pull fails is
marked with its error code and falls back to the applicant; the filing itself never fails
for it.

It is a long flow: no database session is held while the sources answer. It names its two
phases, reading the filing and merging what was pulled, each with
``sessionmaker.begin()``.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from dataclasses import dataclass
from typing import Any

from app.db import format_exception_redacted
from app.errors import HubError
from app.exchange.service import ProcedureGrant, PullContext, PulledRecord, pull_record
from app.exchange.stored import StoredRecords
from app.filings.derive import derive
from app.filings.events import filing_changed
from app.filings.models import Filing
from app.filings.reading import LoadedFiling, get_filing, procedure_of
from app.filings.results import FilingResults
from app.filings.schemas import FilingOut
from app.filings.states import FROM_STATE, PREFILLED, require_transition
from app.filings.values import json_ready, pointer, subject_of
from app.filings.views import filing_out
from app.hub import Hub
from app.security.actor import Actor
from app.timestamps import utcnow
from dictionary.procedures import Procedure, StateComponent

log = logging.getLogger("hub.filings")


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


def _provenance(pulled: PulledRecord, index: int) -> dict[str, Any]:
    """A pulled value's provenance as the dossier keeps it (plain JSON)."""
    provenances = pulled.provenances or [pulled.provenance]
    origin = provenances[index] if index < len(provenances) else pulled.provenance
    kept = {**json_ready(origin.as_dict()), "from_filing": origin.from_filing}
    if origin.from_procedure is not None:
        kept["from_procedure"] = origin.from_procedure
    return {**kept, "basis": pulled.basis.as_dict()}


async def _pull_component(
    hub: Hub,
    actor: Actor,
    stored: StoredRecords,
    filing: Filing,
    component: StateComponent,
    subject_id: str,
    dossier: dict[str, Any],
) -> _Outcome:
    fields = list(component.fields)
    grant = ProcedureGrant(
        procedure=filing.procedure,
        fields=fields,
        legal_basis=component.basis.citation if component.basis.kind == "legal" else None,
        component=component.id,
        stored=stored,
    )
    ctx = PullContext(actor, filing.procedure, filing_id=filing.id, procedure=filing.procedure)
    try:
        pulled = await pull_record(hub, ctx, component.record_type, subject_id, fields, grant)
    except HubError as exc:
        return _failed(subject_id, exc.code, exc.detail)
    except Exception as exc:
        # No database error's message in the log: it can quote a value of the dossier.
        log.error(
            "prefill of %s/%s failed\n%s", filing.id, component.id, format_exception_redacted(exc)
        )
        return _failed(subject_id, "internal_error", "The pull failed unexpectedly.")
    reused = pulled.provenance.from_filing is not None
    # A reused result is the very record an earlier filing produced about this subject.
    index = 0 if reused else _choose(component, pulled.records, dossier)
    if index is None:
        return _failed(
            subject_id,
            "no_matching_record",
            f"{component.record_type} holds no record that matches the dossier.",
        )
    return _Outcome(
        subject_id,
        record={k: v for k, v in pulled.records[index].items() if k in set(fields)},
        status="reused" if reused else "prefilled",
        provenance=_provenance(pulled, index),
    )


def _blocked(procedure: Procedure, component: StateComponent, pending: set[str]) -> bool:
    """Whether the component's subject (or selector) comes from a component still to pull,
    directly or through a derivation."""
    refs = [component.subject.field, component.select.equals if component.select else None]
    reads = {r for ref in refs if ref is not None for r in {ref, *procedure.derivation_inputs(ref)}}
    return any(read.split(".", 1)[0] in pending for read in reads)


@dataclass(slots=True)
class _Pulled:
    """What the waves pulled: values by pointer (with their provenance) and each
    component's new state."""

    values: dict[str, tuple[Any, dict[str, Any] | None]]
    states: dict[str, Any]


async def _pull_all(hub: Hub, actor: Actor, current: LoadedFiling) -> _Pulled:
    """Components whose subject is another component's pulled value wait for it: a second
    wave. Every component of one wave is pulled concurrently."""
    filing, procedure = current.filing, current.procedure
    stored = FilingResults(hub.sessionmaker)
    dossier: dict[str, dict[str, Any]] = copy.deepcopy(filing.dossier)
    pulled = _Pulled(values={}, states={})
    todo = [
        c
        for c in procedure.state_components
        if (filing.component_states.get(c.id) or {}).get("status") not in FROM_STATE
    ]
    while todo:
        # Derived values (the applicant's ID, a value pulled in the last wave) may name whom
        # the next components are about; only their values matter here.
        states = {**filing.component_states, **pulled.states}
        derive(procedure, filing.applicant_id, states, dossier, {}, [])
        pending = {c.id for c in todo}
        wave: list[tuple[StateComponent, str]] = []
        for component in todo:
            if _blocked(procedure, component, pending - {component.id}):
                continue
            subject = subject_of(filing, component, dossier)
            if subject is not None:
                wave.append((component, subject))
        if not wave:
            break
        outcomes = await asyncio.gather(
            *(_pull_component(hub, actor, stored, filing, c, s, dossier) for c, s in wave)
        )
        for (component, _), outcome in zip(wave, outcomes, strict=True):
            pulled.states[component.id] = {
                "status": outcome.status,
                "error": outcome.error,
                "subject_id": outcome.subject_id,
            }
            for name, value in (outcome.record or {}).items():
                if value is not None:
                    value = json_ready(value)
                    dossier.setdefault(component.id, {})[name] = value
                    pulled.values[pointer(component.id, name)] = (value, outcome.provenance)
        done = {c.id for c, _ in wave}
        todo = [c for c in todo if c.id not in done]
    for component in todo:
        pulled.states[component.id] = {
            "status": "failed",
            "error": {
                "code": "subject_unknown",
                "detail": f"Fill {component.subject.field} first: it names whom this "
                "component is about.",
            },
            "subject_id": None,
        }
    return pulled


def _merge(procedure: Procedure, filing: Filing, pulled: _Pulled) -> list[str]:
    """The pulled values into the filing as it stands now (a PATCH made meanwhile is kept),
    and the derived fields from them; returns the pointers derivations changed."""
    merged = copy.deepcopy(filing.dossier)
    provenance = dict(filing.provenance)
    for path, (value, origin) in pulled.values.items():
        component_id, name = path.strip("/").split("/")
        merged.setdefault(component_id, {})[name] = value
        provenance[path] = origin
    typed = [p for p in filing.typed_fields if p not in pulled.values]
    states = {**filing.component_states, **pulled.states}
    derived, _ = derive(procedure, filing.applicant_id, states, merged, provenance, typed)
    filing.dossier = merged
    filing.provenance = provenance
    filing.typed_fields = typed
    filing.component_states = states
    filing.status = PREFILLED
    filing.updated_at = utcnow()
    return derived


async def prefill(hub: Hub, actor: Actor, filing_id: str) -> FilingOut:
    """Pull every pullable component at once; see the module docstring."""
    client_id = actor.client.client_id
    async with hub.sessionmaker.begin() as session:
        filing = await get_filing(session, filing_id, client_id)
        require_transition(filing, PREFILLED)
    current = LoadedFiling(filing, procedure_of(hub.dictionary, filing.procedure))
    pulled = await _pull_all(hub, actor, current)
    async with hub.sessionmaker.begin() as session:
        latest = await get_filing(session, filing_id, client_id)
        require_transition(latest, PREFILLED)
        derived = _merge(current.procedure, latest, pulled)
        failed = sorted(k for k, v in pulled.states.items() if v["status"] == "failed")
        # Recorded before the merge is written: it commits only if the event is durable.
        await filing_changed(
            hub.audit,
            actor,
            latest,
            "prefilled",
            fields=sorted(set(pulled.values) | set(derived)),
            details={"failed_components": failed},
        )
        return await filing_out(session, LoadedFiling(latest, current.procedure))
