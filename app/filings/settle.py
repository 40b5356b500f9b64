"""What a settled delivery changes in the filings domain, in the sender's transaction.

* A result delivered: the values the owner assigned (a new certificate number, a child's
  citizen ID) are taken onto the stored result, and once the system that owns the record
  type has it, the result is *confirmed*: later pulls go to that system, which now holds
  the new state (read your own writes), instead of the hub's copy.
* A correction request answered: the correction is resolved (accepted, with the value the
  owner now holds) or rejected (with the owner's reason); the citizen sees the answer at
  ``GET /v1/me/corrections``. An accepted value also replaces the disputed one in the filing
  while it is undecided (its provenance says ``corrected_at``), and what derives from it
  follows. A correction request that could not be delivered stays
  ``forwarded``, its delivery ``failed`` with the reason.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.deliveries.sender import Settlement
from app.filings.derive import derive
from app.filings.models import CorrectionRequest, Filing, FilingResult
from app.filings.states import DRAFT, PREFILLED, SUBMITTED
from app.filings.values import json_ready, split_pointer
from app.timestamps import utcnow
from dictionary import Dictionary


class FilingSettlements:
    def __init__(self, dictionary: Dictionary) -> None:
        self._dictionary = dictionary

    async def result(self, session: AsyncSession, settled: Settlement) -> None:
        if not settled.delivered:
            return
        delivery = settled.delivery
        stored = await session.get(FilingResult, delivery.origin_id, with_for_update=True)
        if stored is None:
            return
        record: dict[str, Any] = dict(stored.record)
        record.update(json_ready(settled.returned))
        stored.record = record
        owner = self._dictionary.record_types.get(stored.record_type)
        if owner is not None and owner.owner_system == delivery.system:
            stored.confirmed_at = utcnow()
        if settled.returned and stored.record_type == delivery.record_type:
            subject = next(
                (
                    str(record[name])
                    for name in (owner.subject_fields if owner is not None else ())
                    if record.get(name) is not None
                ),
                None,
            )
            if subject is not None:
                stored.subject_id = subject
        await session.flush()

    async def correction(self, session: AsyncSession, settled: Settlement) -> None:
        if not settled.delivered:
            return
        correction = await session.get(
            CorrectionRequest, settled.delivery.origin_id, with_for_update=True
        )
        if correction is None or correction.status != "forwarded":
            return
        answer = settled.returned
        accepted = answer.get("decision") == "accepted"
        now = utcnow()
        correction.answer = json_ready(
            {
                "decision": "accepted" if accepted else "rejected",
                "value": answer.get("value") if accepted else None,
                "reason": None if accepted else answer.get("reason"),
                "answered_at": now,
            }
        )
        correction.status = "resolved" if accepted else "rejected"
        correction.updated_at = now
        if accepted:
            await self._take_corrected_value(session, correction, answer.get("value"))
        await session.flush()

    async def _take_corrected_value(
        self, session: AsyncSession, correction: CorrectionRequest, value: Any
    ) -> None:
        """The filing that disputed the value holds what the owner holds now (and whatever
        is derived from it follows), while it is not decided yet."""
        filing = await session.get(Filing, correction.filing_id, with_for_update=True)
        if filing is None or filing.status not in (DRAFT, PREFILLED, SUBMITTED) or value is None:
            return
        parts = split_pointer(correction.field)
        if parts is None:
            return
        component_id, name = parts
        dossier = {k: dict(v) for k, v in filing.dossier.items()}
        provenance = dict(filing.provenance)
        dossier.setdefault(component_id, {})[name] = json_ready(value)
        origin = dict(provenance.get(correction.field) or {})
        stamp = utcnow().isoformat()
        provenance[correction.field] = {**origin, "retrieved_at": stamp, "corrected_at": stamp}
        procedure = self._dictionary.procedure(filing.procedure)
        typed = list(filing.typed_fields)
        derive(procedure, filing.applicant_id, filing.component_states, dossier, provenance, typed)
        filing.dossier, filing.provenance, filing.typed_fields = dossier, provenance, typed
        filing.updated_at = utcnow()
