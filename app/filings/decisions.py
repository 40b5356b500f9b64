"""Submitting a filing and deciding it (approval produces the result record).

Each records its ``filing.changed`` event before it writes; the conditional UPDATE keeps
two racing requests from both moving the filing, and on PostgreSQL the row lock taken first
makes the later one wait and find the filing already moved (no event of its own)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from app.deliveries.outbox import enqueue_result
from app.filings.counts import count_submission, declare_once_counts
from app.filings.errors import (
    ConfirmationRequired,
    DossierInvalid,
    IdempotencyKeyReused,
    IllegalFilingTransition,
    ResultInvalid,
)
from app.filings.events import filing_changed
from app.filings.models import Filing, FilingResult
from app.filings.reading import LoadedFiling
from app.filings.schemas import FilingDecision, FilingOut
from app.filings.states import APPROVED, PREFILLED, REJECTED, SUBMITTED, require_transition
from app.filings.values import json_ready, value_at
from app.filings.views import filing_out
from app.hub import Hub
from app.security.actor import Actor
from app.timestamps import utcnow
from dictionary import Dictionary
from dictionary.procedures import Procedure


async def submit(
    session: AsyncSession,
    hub: Hub,
    actor: Actor,
    current: LoadedFiling,
    *,
    confirm: bool,
    idempotency_key: str | None,
    request_hash: str,
) -> FilingOut:
    """Submit the filing; a repeat returns the submitted filing. A submission is counted in
    the declare-once metrics."""
    if await _submit(
        session,
        hub,
        actor,
        current,
        confirm=confirm,
        idempotency_key=idempotency_key,
        request_hash=request_hash,
    ):
        count_submission(hub.metrics, current.procedure, current.filing)
    return await filing_out(session, current)


async def _submit(
    session: AsyncSession,
    hub: Hub,
    actor: Actor,
    current: LoadedFiling,
    *,
    confirm: bool,
    idempotency_key: str | None,
    request_hash: str,
) -> bool:
    """Whether this request submitted the filing (False for a repeat)."""
    filing, procedure = current.filing, current.procedure
    await session.refresh(filing, with_for_update=True)
    if idempotency_key is not None and filing.submit_key == idempotency_key:
        if filing.submit_hash != request_hash:
            raise IdempotencyKeyReused(
                "This Idempotency-Key was used with another request body.",
                extra={"idempotency_key": idempotency_key},
            )
        return False
    if filing.status in (SUBMITTED, APPROVED, REJECTED):
        return False
    if not confirm:
        raise ConfirmationRequired(
            'The applicant must confirm the previewed dossier: send {"confirm": true}.'
        )
    require_transition(filing, SUBMITTED)
    issues = hub.dictionary.dossier_validator(procedure.code).validate(filing.dossier)
    if issues:
        raise DossierInvalid(
            f"The dossier has {len(issues)} problem(s).", errors=[i.as_dict() for i in issues]
        )
    counts = declare_once_counts(procedure, filing)
    await filing_changed(hub.audit, actor, filing, "submitted", status=SUBMITTED)
    now = utcnow()
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
    changed = getattr(result, "rowcount", 0) == 1
    await session.refresh(filing)
    if (
        not changed
        and idempotency_key is not None
        and filing.submit_key == idempotency_key
        and filing.submit_hash != request_hash
    ):
        raise IdempotencyKeyReused("This Idempotency-Key was used with another request body.")
    return changed


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
        value = value_at(filing.dossier, "/" + ref.replace(".", "/", 1))
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


def replaced_record(procedure: Procedure, filing: Filing) -> dict[str, Any]:
    """The values of the record the result takes the place of (``result.replaces``)."""
    replaced: dict[str, Any] = {}
    for name, ref in procedure.result.replaces.items():
        value = value_at(filing.dossier, "/" + ref.replace(".", "/", 1))
        if value is not None:
            replaced[name] = value
    return json_ready(replaced)


async def decide(
    session: AsyncSession,
    hub: Hub,
    actor: Actor,
    current: LoadedFiling,
    decision: FilingDecision,
) -> FilingOut:
    """Approve or reject a submitted filing; an approval stores the result record."""
    filing, procedure = current.filing, current.procedure
    await session.refresh(filing, with_for_update=True)
    require_transition(filing, decision.decision)
    now = utcnow()
    stored: FilingResult | None = None
    if decision.decision == APPROVED:
        record, version, subject = build_result(hub.dictionary, procedure, filing, decision.result)
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
    await filing_changed(
        hub.audit,
        actor,
        filing,
        decision.decision,
        status=decision.decision,
        details={"result_record_type": stored.record_type} if stored is not None else {},
    )
    moved = await session.execute(
        update(Filing)
        .where(Filing.id == filing.id, Filing.status == SUBMITTED)
        .values(
            status=decision.decision,
            decision_reason=decision.reason,
            decided_at=now,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    if getattr(moved, "rowcount", 0) != 1:
        raise IllegalFilingTransition("The filing was decided concurrently.")
    if stored is not None:
        session.add(stored)
        await session.flush()
        await enqueue_result(
            session,
            hub,
            actor,
            result_id=stored.id,
            filing_id=filing.id,
            procedure=procedure.code,
            record_type=stored.record_type,
            subject_id=stored.subject_id,
            record=stored.record,
            replaces=replaced_record(procedure, filing),
        )
    await session.refresh(filing)
    return await filing_out(session, current)
