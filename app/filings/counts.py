"""Declare-once counts: per filing, and aggregated over submitted filings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.filings.derive import NOT_FROM_STATE
from app.filings.models import Filing
from app.filings.schemas import (
    AgencyRow,
    DeclareOnceOut,
    DeclareOnceRow,
    DeclareOnceStats,
    ProcedureRow,
)
from app.filings.states import APPROVED, FROM_STATE, REJECTED, SUBMITTED
from app.filings.values import split_pointer, value_at
from app.observability import HubMetrics
from dictionary.procedures import Procedure


@dataclass(frozen=True, slots=True)
class DeclareOnceCounts:
    """``fields_prefilled`` counts values from state data, derived ones included (a copy of
    a pulled value is from the state); ``fields_derived`` counts values derived from the
    applicant's ID or from a typed value: not typed, yet not from the state either, so they
    stay in the rate's denominator."""

    fields_prefilled: int
    fields_typed: int
    components_from_state: int
    components_supplied: int
    fields_derived: int = 0

    @property
    def rate(self) -> float | None:
        total = self.fields_prefilled + self.fields_typed + self.fields_derived
        return round(self.fields_prefilled / total, 4) if total else None

    def out(self) -> DeclareOnceOut:
        return DeclareOnceOut(
            fields_prefilled=self.fields_prefilled,
            fields_typed=self.fields_typed,
            fields_derived=self.fields_derived,
            components_from_state=self.components_from_state,
            components_supplied=self.components_supplied,
            declare_once_rate=self.rate,
        )


def declare_once_counts(procedure: Procedure, filing: Filing) -> DeclareOnceCounts:
    """What state data saved the applicant on this filing, as it stands."""
    dossier = filing.dossier
    filled = [(p, o) for p, o in filing.provenance.items() if value_at(dossier, p) is not None]
    prefilled = [p for p, o in filled if o.get("source_system") != NOT_FROM_STATE]
    derived = len(filled) - len(prefilled)
    typed = [
        p
        for p in filing.typed_fields
        if value_at(dossier, p) is not None and p not in filing.provenance
    ]
    from_state = sum(
        1
        for c in procedure.state_components
        if filing.component_states.get(c.id, {}).get("status") in FROM_STATE
    )
    typed_components = {split_pointer(p)[0] for p in typed}  # type: ignore[index]
    supplied = sum(1 for c in procedure.components if c.id in typed_components)
    return DeclareOnceCounts(len(prefilled), len(typed), from_state, supplied, derived)


def count_submission(metrics: HubMetrics, procedure: Procedure, filing: Filing) -> None:
    """Add a just-submitted filing's counts to /metrics."""
    fields = metrics.declare_once_fields
    components = metrics.declare_once_components
    fields.labels(procedure.code, "state").inc(filing.fields_prefilled)
    fields.labels(procedure.code, "applicant").inc(filing.fields_typed)
    components.labels(procedure.code, "state").inc(filing.components_from_state)
    components.labels(procedure.code, "applicant").inc(filing.components_supplied)


async def declare_once_stats(session: AsyncSession) -> DeclareOnceStats:
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
        return {"filings": filings, **dict(counts.out())}

    total = (await session.execute(select(*columns).where(done))).one()
    by_procedure = await session.execute(
        select(Filing.procedure, *columns).where(done).group_by(Filing.procedure)
    )
    by_agency = await session.execute(
        select(Filing.agency, *columns).where(done).group_by(Filing.agency)
    )
    return DeclareOnceStats(
        total=DeclareOnceRow(**row_of(tuple(total))),
        by_procedure=sorted(
            (ProcedureRow(procedure=r[0], **row_of(tuple(r[1:]))) for r in by_procedure.all()),
            key=lambda row: row.procedure,
        ),
        by_agency=sorted(
            (AgencyRow(agency=r[0], **row_of(tuple(r[1:]))) for r in by_agency.all()),
            key=lambda row: row.agency,
        ),
    )
