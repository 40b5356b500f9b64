"""Corrections: disputes of state-held values, addressed to the agency that owns them."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from app.deliveries.models import CORRECTION, FAILED
from app.deliveries.outbox import deliveries_of, delivery_out, enqueue_correction
from app.errors import Unprocessable
from app.filings.errors import CorrectionNotFound, FieldNotStateHeld, IllegalCorrectionTransition
from app.filings.events import filing_changed
from app.filings.models import CorrectionRequest
from app.filings.reading import LoadedFiling
from app.filings.schemas import CorrectionCreate, CorrectionOut
from app.filings.values import json_ready, pointer, split_pointer, value_at
from app.filings.views import correction_out
from app.hub import Hub
from app.security.actor import Actor
from app.timestamps import utcnow
from dictionary.procedures import StateComponent

# The agency that owns each national system: where a correction request goes.
OWNER_AGENCIES = {
    "population": "Ministry of Public Security (C06): National Population Database",
    "civil_status": "Ministry of Justice: Electronic Civil Status Database",
    "land": "Ministry of Agriculture and Environment: National Land Database",
    "tax": "Ministry of Finance: Tax Department",
    "hub": "The agency that decided the earlier filing",
}


async def request_correction(
    session: AsyncSession,
    hub: Hub,
    actor: Actor,
    current: LoadedFiling,
    dispute: CorrectionCreate,
) -> CorrectionOut:
    """A dispute of a state-held value, addressed to the agency that owns it."""
    filing, procedure = current.filing, current.procedure
    field, claimed_value = dispute.field, dispute.claimed_value
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
    validator = hub.dictionary.dossier_validator(procedure.code)
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
        values=json_ready({"current": value_at(filing.dossier, path), "claimed": claimed_value}),
        note=dispute.note,
        status="open",
        created_at=now,
        updated_at=now,
    )
    await filing_changed(
        hub.audit,
        actor,
        filing,
        "correction_requested",
        fields=[correction.field],
        details={"correction_id": correction.id, "owner_system": correction.owner_system},
    )
    session.add(correction)
    await session.flush()
    return correction_out(correction)


# Where a correction request may go from each status.
_NEXT = {"open": {"forwarded", "resolved", "rejected"}, "forwarded": {"resolved", "rejected"}}


async def set_correction_status(
    session: AsyncSession,
    hub: Hub,
    actor: Actor,
    current: LoadedFiling,
    correction_id: str,
    status: str,
) -> CorrectionOut:
    correction = await session.get(CorrectionRequest, correction_id)
    if correction is None or correction.filing_id != current.filing.id:
        raise CorrectionNotFound(f"No correction {correction_id!r}.")
    if status not in _NEXT.get(correction.status, set()):
        raise IllegalCorrectionTransition(
            f"A {correction.status} correction cannot become {status}."
        )
    if correction.status == "forwarded":
        sent = await deliveries_of(session, kind=CORRECTION, origin_ids=[correction.id])
        if any(d.status != FAILED for d in sent.get(correction.id, [])):
            raise IllegalCorrectionTransition(
                f"The correction was sent to {correction.owner_system}; its answer settles it."
            )
    await filing_changed(
        hub.audit,
        actor,
        current.filing,
        f"correction_{status}",
        fields=[correction.field],
        details={"correction_id": correction.id},
    )
    correction.status = status
    correction.updated_at = utcnow()
    await session.flush()
    delivery = None
    if status == "forwarded" and correction.owner_system != "hub":
        staged = await enqueue_correction(
            session,
            hub,
            actor,
            correction_id=correction.id,
            filing_id=current.filing.id,
            procedure=current.procedure.code,
            record_type=correction.record_type,
            subject_id=correction.subject_id,
            correction={
                "field": correction.field.rsplit("/", 1)[-1],
                "source_reference": correction.source_reference,
                "subject_id": correction.subject_id,
                "current": correction.values.get("current"),
                "claimed": correction.values.get("claimed"),
                "note": correction.note,
            },
        )
        delivery = delivery_out(staged) if staged is not None else None
    return correction_out(correction, delivery)
