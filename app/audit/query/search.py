"""Searching the log: an auditor's filtered page of events, and a citizen's own access log."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.query.filters import EventFilters, _citizen_conditions, _conditions
from app.audit.query.paging import PageRequest, _fetch_page, parse_page
from app.audit.schemas import AccessLogEntry, AccessLogPage, AuditEventOut, AuditEventPage
from app.cursors import CursorCodec


async def search_events(
    session: AsyncSession, filters: EventFilters, page: PageRequest
) -> AuditEventPage:
    rows, next_cursor = await _fetch_page(session, _conditions(filters), page)
    return AuditEventPage(items=[AuditEventOut(**row) for row in rows], next_cursor=next_cursor)


def _split_basis(basis: str | None) -> tuple[str | None, str | None]:
    """(legal citation, consent id) from the stored ``legal:...`` / ``consent:...`` form."""
    if basis is None:
        return None, None
    kind, _, reference = basis.partition(":")
    if kind == "consent" and reference:
        return None, reference
    if kind == "legal" and reference:
        return reference, None
    return basis, None


def _access_entry(row: Mapping[str, Any]) -> AccessLogEntry:
    legal_basis, consent_id = _split_basis(row["basis"])
    return AccessLogEntry(
        event_id=row["seq"],
        at=row["ts"],
        kind=row["kind"],
        agency=row["agency"],
        record_type=row["record_type"],
        fields=row["fields"],
        purpose=row["purpose"],
        procedure=row["procedure"],
        filing_id=row["filing_id"],
        legal_basis=legal_basis,
        consent_id=consent_id,
        outcome=row["outcome"],
        error_code=row["error_code"],
    )


def citizen_page(
    subject_hmac: str,
    *,
    order: str | None,
    limit: str | None,
    cursor: str | None,
    codec: CursorCodec,
) -> PageRequest:
    # The fingerprint binds the cursor to this citizen, so a cursor is useless to another.
    return parse_page(
        scope=f"citizen:{subject_hmac}",
        filters=None,
        order=order,
        limit=limit,
        cursor=cursor,
        codec=codec,
    )


async def citizen_access_log(
    session: AsyncSession, subject_hmac: str, page: PageRequest
) -> AccessLogPage:
    """Every event that names this citizen as subject, except administrative and auditor
    events. Officer ids are left out by design (see :class:`AccessLogEntry`)."""
    rows, next_cursor = await _fetch_page(session, _citizen_conditions(subject_hmac), page)
    return AccessLogPage(items=[_access_entry(row) for row in rows], next_cursor=next_cursor)
