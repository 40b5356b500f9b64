"""The filing as the consumer (and the applicant's preview) sees it: the response models of
:mod:`app.filings.schemas`, built from the tables. Reads only: a view never writes or
commits."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.deliveries.models import CORRECTION, RESULT
from app.deliveries.outbox import deliveries_of
from app.deliveries.schemas import DeliveryOut
from app.filings.counts import declare_once_counts
from app.filings.models import CorrectionRequest, Filing, FilingResult
from app.filings.plan import plan
from app.filings.reading import LoadedFiling, corrections_of_filing, result_of_filing
from app.filings.schemas import (
    CorrectionOut,
    DecisionOut,
    FieldProvenanceOut,
    FilingOut,
    FilingSummary,
    OwnerAnswerOut,
    ResultOut,
)
from app.filings.states import APPROVED, REJECTED
from dictionary.procedures import Procedure


def correction_out(
    correction: CorrectionRequest, delivery: DeliveryOut | None = None
) -> CorrectionOut:
    answer = correction.answer
    return CorrectionOut(
        id=correction.id,
        filing_id=correction.filing_id,
        field=correction.field,
        record_type=correction.record_type,
        owner_system=correction.owner_system,
        owner_agency=correction.owner_agency,
        source_reference=correction.source_reference,
        current_value=correction.values.get("current"),
        claimed_value=correction.values.get("claimed"),
        note=correction.note,
        status=correction.status,
        owner_answer=OwnerAnswerOut.model_validate(answer) if answer else None,
        delivery=delivery,
        created_at=correction.created_at,
        updated_at=correction.updated_at,
    )


async def corrections_out(
    session: AsyncSession, corrections: list[CorrectionRequest]
) -> list[CorrectionOut]:
    """Corrections with the state of their request to the owning system."""
    sent = await deliveries_of(session, kind=CORRECTION, origin_ids=[c.id for c in corrections])
    return [correction_out(c, _last(sent.get(c.id))) for c in corrections]


def _last(deliveries: list[DeliveryOut] | None) -> DeliveryOut | None:
    return deliveries[-1] if deliveries else None


def result_out(result: FilingResult | None) -> ResultOut | None:
    if result is None:
        return None
    return ResultOut(
        id=result.id,
        record_type=result.record_type,
        record_version=result.record_version,
        subject_id=result.subject_id,
        record=result.record,
        created_at=result.created_at,
        confirmed_at=result.confirmed_at,
    )


def summary_out(procedure: Procedure, filing: Filing) -> FilingSummary:
    """A filing in a list: no dossier values."""
    counts = declare_once_counts(procedure, filing)
    return FilingSummary(
        id=filing.id,
        procedure=filing.procedure,
        procedure_name_vi=procedure.name_vi,
        procedure_name_en=procedure.name_en,
        status=filing.status,
        agency=filing.agency,
        applicant_id=filing.applicant_id,
        on_behalf_of=filing.on_behalf_of,
        created_at=filing.created_at,
        submitted_at=filing.submitted_at,
        decided_at=filing.decided_at,
        declare_once=counts.out(),
    )


async def filing_out(session: AsyncSession, current: LoadedFiling) -> FilingOut:
    """The whole filing: plan, dossier, provenance, corrections, decision and result."""
    filing, procedure = current.filing, current.procedure
    corrections = await corrections_of_filing(session, filing.id)
    result = await result_of_filing(session, filing.id)
    components = await plan(session, procedure, filing)
    sent = (
        await deliveries_of(session, kind=RESULT, origin_ids=[result.id])
        if result is not None
        else {}
    )
    decided = filing.status in (APPROVED, REJECTED)
    return FilingOut(
        **dict(summary_out(procedure, filing)),
        subject_id=filing.subject_id,
        officer_id=filing.officer_id,
        case_id=filing.case_id,
        updated_at=filing.updated_at,
        plan=components,
        dossier=filing.dossier,
        provenance={
            path: FieldProvenanceOut.model_validate(origin)
            for path, origin in filing.provenance.items()
        },
        locked_fields=sorted(p for p, o in filing.provenance.items() if o.get("verified")),
        typed_fields=sorted(filing.typed_fields),
        corrections=await corrections_out(session, corrections),
        decision=DecisionOut(
            decision=filing.status,
            reason=filing.decision_reason,
            decided_at=filing.decided_at,
        )
        if decided
        else None,
        result=result_out(result),
        deliveries=sent.get(result.id, []) if result is not None else [],
    )
