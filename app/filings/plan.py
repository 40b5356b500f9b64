"""A filing's plan: per component, what the hub will do and where it stands now.

It crosses into consent (a read-only check that spends no use), so it is a flow's read part
rather than the filing's own data."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.consent.basis import check_consent
from app.filings.derive import applying
from app.filings.models import Filing
from app.filings.schemas import ComponentError, ConsentStateOut, PlanEntry, SubjectOut
from app.filings.values import pointer, subject_of
from dictionary.procedures import ApplicantComponent, Procedure, StateComponent


async def plan(session: AsyncSession, procedure: Procedure, filing: Filing) -> list[PlanEntry]:
    """Whether the hub pulls each component under a legal basis, pulls it with the
    applicant's consent (present or missing), or needs the applicant to supply it."""
    entries = []
    derived = applying(procedure, filing.applicant_id, filing.dossier, filing.component_states)
    for component in procedure.components:
        common: dict[str, Any] = {
            "component": component.id,
            "kind": component.kind,
            "name_vi": component.name_vi,
            "name_en": component.name_en,
            "required": component.required,
        }
        if isinstance(component, ApplicantComponent):
            by_pointer = {pointer(component.id, f.name): f for f in component.fields}
            entries.append(
                PlanEntry(
                    **common,
                    action="applicant_supplies",
                    upload=component.upload,
                    fields=[
                        f.model_dump(exclude={"derived_from"})
                        for p, f in by_pointer.items()
                        if p not in derived
                    ],
                    derived_fields=[
                        {
                            **f.model_dump(exclude={"derived_from"}),
                            "derived_from": derived[p].evidence,
                        }
                        for p, f in by_pointer.items()
                        if p in derived
                    ],
                )
            )
            continue
        subject = subject_of(filing, component)
        state = filing.component_states.get(component.id) or {}
        status = state.get("status", "pending")
        error = state.get("error")
        legal = component.basis.kind == "legal"
        entries.append(
            PlanEntry(
                **common,
                record_type=component.record_type,
                owner_system=component.owner_system,
                fields=list(component.fields),
                subject=SubjectOut(
                    role=component.subject.role,
                    from_field=component.subject.field,
                    citizen_id=subject,
                ),
                basis=component.basis.model_dump(),
                status=status,
                error=ComponentError.model_validate(error) if error is not None else None,
                action="pull_legal_basis" if legal else "pull_with_consent",
                consent=None
                if legal
                else await _consent_state(session, procedure, component, subject, filing),
                fallback="applicant_supplies" if status == "failed" else None,
            )
        )
    return entries


async def _consent_state(
    session: AsyncSession,
    procedure: Procedure,
    component: StateComponent,
    subject: str | None,
    filing: Filing,
) -> ConsentStateOut:
    if subject is None:
        return ConsentStateOut(state="subject_unknown", consent_id=None, code=None)
    check = await check_consent(
        session,
        client_id=filing.client_id,
        subject_id=subject,
        record_type=component.record_type,
        fields=list(component.fields),
        purpose=procedure.code,
    )
    return ConsentStateOut(
        state="present" if check.ok else "missing", consent_id=check.consent_id, code=check.code
    )
