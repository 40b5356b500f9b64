"""Submitting a filing and deciding it (approval produces the result record)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from app.filings.counts import declare_once_counts
from app.filings.errors import (
    ConfirmationRequired,
    DossierInvalid,
    IdempotencyKeyReused,
    IllegalFilingTransition,
    ResultInvalid,
)
from app.filings.models import Filing, FilingResult
from app.filings.reading import procedure_of
from app.filings.states import APPROVED, PREFILLED, REJECTED, SUBMITTED, require_transition
from app.filings.values import json_ready, value_at
from app.timestamps import utcnow
from dictionary import Dictionary
from dictionary.procedures import Procedure


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
