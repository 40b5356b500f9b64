"""The data path: one authorised pull of one record type about one subject.

``pull_record`` runs the steps of ARCHITECTURE.md in order (the key was checked by the
route's dependency): the access right (or a filing's procedure grant), the basis, the
connector fetch (which maps and validates), the cut to the allowed fields, and the audit
event. The event is appended in exactly one place, :func:`_append_event`, once per pull,
allowed or refused, before the function returns or raises.

A filing's pull first asks the hub's own stored records (an earlier filing's approved
result, :mod:`app.exchange.stored`); one found stands in for the connector's answer, under
the same basis decision, and its event is a ``filing.prefill`` naming the filing reused.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from app.audit.serialize import request_hash, response_hash
from app.consent.basis import Basis, decide_basis
from app.errors import HubError
from app.events import AuditEntry, EventKind, Outcome
from app.exchange.errors import (
    AccessDenied,
    InvalidHeader,
    InvalidSubject,
    MissingPurpose,
    MissingUserId,
    UnknownField,
    UnknownRecordType,
)
from app.exchange.stored import StoredRecord, StoredRecords
from app.headers import is_header_value
from app.security.actor import Actor
from app.security.caches import AccessGrant
from app.security.schemas import PURPOSE_PATTERN
from app.timestamps import utcnow
from dictionary import RecordType

if TYPE_CHECKING:
    from app.hub import Hub
    from app.sources.runtime import Fetched

_PURPOSE = re.compile(PURPOSE_PATTERN)
SUBJECT_PATTERN = r"^[A-Za-z0-9._-]{1,64}$"
_SUBJECT = re.compile(SUBJECT_PATTERN)


@dataclass(frozen=True, slots=True)
class PullContext:
    """Who pulls and why: the actor (client, officer, case, request) and the purpose
    (X-Purpose); a filing's pull also names the filing and its procedure.

    The actor of ``GET /v1/records`` is built from the raw headers, unchecked: ``pull_record``
    checks the officer, the case and the purpose itself, so that a refusal is audited."""

    actor: Actor
    purpose: str
    filing_id: str | None = None
    procedure: str | None = None


@dataclass(frozen=True, slots=True)
class ProcedureGrant:
    """A filing's dossier component: it replaces the client's access right for the pull.

    ``stored``, when given, is asked before the connector (an earlier filing's result);
    ``component`` names the dossier component in the event of such a reuse."""

    procedure: str
    fields: list[str]
    legal_basis: str | None
    component: str | None = None
    stored: StoredRecords | None = None


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where a record came from. A stored record (no connector) names the filing whose
    approval produced it and that filing's procedure."""

    source_system: str
    connector_id: str | None
    source_reference: str | None
    retrieved_at: datetime
    last_updated: datetime | None
    dictionary_version: str
    verified: bool = True
    from_filing: str | None = None
    from_procedure: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "source_system": self.source_system,
            "connector_id": self.connector_id,
            "source_reference": self.source_reference,
            "retrieved_at": self.retrieved_at,
            "last_updated": self.last_updated,
            "dictionary_version": self.dictionary_version,
            "verified": self.verified,
        }


@dataclass(frozen=True, slots=True)
class PulledRecord:
    """The answer of a pull. ``records`` holds one record for a per-subject ``one`` record
    type and any number for ``many``; ``provenances`` is parallel to ``records`` and
    ``provenance`` is the first record's (or the pull's, when there is none)."""

    record_type: str
    subject_id: str
    records: list[dict[str, Any]]
    fields: list[str]
    basis: Basis
    provenance: Provenance
    per_subject: str = "one"
    provenances: list[Provenance] = field(default_factory=list)

    def as_response(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "record_type": self.record_type,
            "subject_id": self.subject_id,
            "per_subject": self.per_subject,
            "fields": self.fields,
            "basis": self.basis.as_dict(),
        }
        if self.per_subject == "one":
            body["record"] = self.records[0] if self.records else None
            body["provenance"] = self.provenance.as_dict()
        else:
            body["records"] = [
                {"record": record, "provenance": provenance.as_dict()}
                for record, provenance in zip(self.records, self.provenances, strict=True)
            ]
        return body


def _check_context(ctx: PullContext, subject_id: str) -> None:
    officer_id, case_id = ctx.actor.officer_id, ctx.actor.case_id
    if not officer_id:
        raise MissingUserId("Send X-User-Id: the officer on whose behalf the pull is made.")
    if not is_header_value(officer_id):
        raise InvalidHeader("X-User-Id must be 1 to 200 printable ASCII characters.")
    if not ctx.purpose:
        raise MissingPurpose("Send X-Purpose: the purpose or procedure code of the pull.")
    if not _PURPOSE.match(ctx.purpose):
        raise InvalidHeader(f"X-Purpose {ctx.purpose!r} is not a purpose code (a lower-case slug).")
    if case_id is not None and not is_header_value(case_id):
        raise InvalidHeader("X-Case-Id must be 1 to 200 printable ASCII characters.")
    if not _SUBJECT.match(subject_id):
        raise InvalidSubject("The subject id must be 1 to 64 letters, digits, '.', '_' or '-'.")


def _record_fields(record_type: RecordType) -> list[str]:
    return [spec.name for spec in record_type.latest().fields]


def _in_record_order(order: Sequence[str], names: Collection[str]) -> list[str]:
    chosen = set(names)
    return [name for name in order if name in chosen]


def _decide_fields(
    record_type: RecordType,
    requested: Sequence[str] | None,
    purpose: str,
    grants: Sequence[AccessGrant],
) -> tuple[list[str], str | None]:
    """The fields the pull returns and the legal basis the access right declares."""
    order = _record_fields(record_type)
    if requested:
        unknown = [name for name in requested if name not in order]
        if unknown:
            raise UnknownField(
                f"{record_type.name} has no field(s) {', '.join(unknown)}.",
                extra={"unknown_fields": unknown},
            )
    for_type = [g for g in grants if g.record_type == record_type.name]
    if not for_type:
        raise AccessDenied(
            f"No access right to {record_type.name}.",
            extra={"missing": {"record_type": record_type.name}},
        )
    for_purpose = [g for g in for_type if purpose in g.purposes]
    if not for_purpose:
        raise AccessDenied(
            f"The access right to {record_type.name} does not cover purpose {purpose!r}.",
            extra={"missing": {"purpose": purpose}},
        )
    granted = frozenset().union(*(g.fields for g in for_purpose))
    wanted = _in_record_order(order, requested or granted)
    missing = [name for name in wanted if name not in granted]
    if missing:
        raise AccessDenied(
            f"Fields not granted for {record_type.name} under {purpose!r}: {', '.join(missing)}.",
            extra={"missing": {"fields": missing}},
        )
    needed = set(wanted)
    legal_basis = next(
        (g.legal_basis for g in for_purpose if g.legal_basis and needed <= g.fields), None
    )
    return wanted, legal_basis


def _procedure_fields(
    record_type: RecordType, requested: Sequence[str] | None, grant: ProcedureGrant
) -> list[str]:
    allowed = set(grant.fields)
    wanted = _in_record_order(_record_fields(record_type), requested or allowed)
    missing = [n for n in wanted if n not in allowed]
    if missing:
        raise AccessDenied(
            f"Procedure {grant.procedure} does not need {', '.join(missing)}.",
            extra={"missing": {"fields": missing}},
        )
    return wanted


def _cut(record: dict[str, Any], fields: Sequence[str]) -> dict[str, Any]:
    return {name: record[name] for name in fields if name in record}


async def pull_record(
    hub: Hub,
    ctx: PullContext,
    record_type: str,
    subject_id: str,
    fields: list[str] | None,
    grant: ProcedureGrant | None = None,
) -> PulledRecord:
    """Pull ``record_type`` about ``subject_id`` for ``ctx``; see the module docstring.

    Without ``grant`` the client's access rights decide the fields and the legal basis;
    with one (a filing), the procedure's component does. The pull opens a short database
    session of its own if, and only if, the basis is a consent (a legal basis needs none).
    """
    actor = ctx.actor
    entry = actor.entry(
        EventKind.DATA_PULL,
        Outcome.DENIED,
        officer_id=actor.officer_id or None,
        subject_id=subject_id,
        record_type=record_type,
        fields=list(fields or []),
        purpose=ctx.purpose or None,
        procedure=ctx.procedure or (grant.procedure if grant else None),
        filing_id=ctx.filing_id,
        request_hash=request_hash(
            {
                "record_type": record_type,
                "subject_id": subject_id,
                "fields": fields,
                "purpose": ctx.purpose,
                "officer_id": actor.officer_id or "",
                "case_id": actor.case_id,
            }
        ),
    )
    try:
        pulled = await _pull(hub, ctx, entry, record_type, subject_id, fields, grant)
    except HubError as exc:
        entry.outcome = Outcome.ERROR if exc.status >= 500 else Outcome.DENIED
        entry.error_code = exc.code
        _keep_only_named(hub, entry, subject_id, malformed=isinstance(exc, _MALFORMED))
        await _append_event(hub, entry)
        raise
    except Exception:
        entry.outcome = Outcome.ERROR
        entry.error_code = "internal_error"
        _keep_only_named(hub, entry, subject_id, malformed=False)
        await _append_event(hub, entry)
        raise
    entry.outcome = Outcome.ALLOWED
    entry.response_hash = response_hash(pulled.records)
    await _append_event(hub, entry)
    return pulled


# Refusals of a request that is not well formed: recorded with outcome ``invalid_request``.
_MALFORMED = (
    MissingUserId,
    MissingPurpose,
    InvalidHeader,
    InvalidSubject,
    UnknownRecordType,
    UnknownField,
)


def _keep_only_named(hub: Hub, entry: AuditEntry, subject_id: str, *, malformed: bool) -> None:
    """Before a refused pull is logged: keep only what the dictionary names and what passed
    its check. A record-type segment, a field name, a subject or a header that is anything
    else may be a citizen ID typed in the wrong place; the log is sealed forever, so it keeps
    no such text, only how many names it left out. A pull that succeeds needs none of this:
    its record type and fields were all found in the dictionary."""
    record_type = hub.dictionary.record_types.get(entry.record_type or "")
    known = frozenset(_record_fields(record_type)) if record_type is not None else frozenset()
    named = [name for name in entry.fields if name in known]
    left_out: dict[str, Any] = {}
    if record_type is None and entry.record_type is not None:
        entry.record_type = None
        left_out["record_type"] = True
    if len(named) != len(entry.fields):
        left_out["fields"] = len(entry.fields) - len(named)
        entry.fields = named
    if not _SUBJECT.match(subject_id):
        entry.subject_id = None
        left_out["subject_id"] = True
    if entry.officer_id is not None and not is_header_value(entry.officer_id):
        entry.officer_id = None
        left_out["officer_id"] = True
    if entry.case_id is not None and not is_header_value(entry.case_id):
        entry.case_id = None
        left_out["case_id"] = True
    if entry.purpose is not None and not _PURPOSE.match(entry.purpose):
        entry.purpose = None
        left_out["purpose"] = True
    if left_out:
        entry.details = {**entry.details, "not_recorded": left_out}
    if malformed or (left_out and entry.outcome == Outcome.DENIED):
        entry.outcome = Outcome.INVALID_REQUEST


async def _append_event(hub: Hub, entry: AuditEntry) -> None:
    """The one seam where the data path writes the access log."""
    await hub.audit.append(entry)


async def _decide_basis(hub: Hub, legal_basis: str | None, **question: Any) -> Basis:
    if legal_basis:
        # A legal basis needs no database: decide_basis returns it without reading one.
        return Basis(kind="legal", reference=legal_basis)
    # A consent is read from the database on every pull, never cached.
    async with hub.sessionmaker() as session:
        return await decide_basis(session, legal_basis=None, **question)


async def _pull(
    hub: Hub,
    ctx: PullContext,
    entry: AuditEntry,
    record_type_name: str,
    subject_id: str,
    fields: list[str] | None,
    grant: ProcedureGrant | None,
) -> PulledRecord:
    _check_context(ctx, subject_id)
    record_type = hub.dictionary.record_types.get(record_type_name)
    if record_type is None:
        raise UnknownRecordType(f"The dictionary has no record type {record_type_name!r}.")
    client_id = ctx.actor.client.client_id
    stored: StoredRecord | None = None
    if grant is None:
        grants = await hub.access_rights.grants(hub.sessionmaker, client_id)
        allowed, legal_basis = _decide_fields(record_type, fields, ctx.purpose, grants)
    else:
        allowed = _procedure_fields(record_type, fields, grant)
        legal_basis = grant.legal_basis
        if grant.stored is not None:
            stored = await grant.stored.find(record_type.name, subject_id)
        if stored is not None:
            entry.kind = EventKind.FILING_PREFILL
            entry.details = {"reused_from_filing": stored.filing_id, "component": grant.component}
    entry.fields = list(allowed)
    basis = await _decide_basis(
        hub,
        legal_basis,
        client_id=client_id,
        subject_id=subject_id,
        record_type=record_type.name,
        fields=allowed,
        purpose=ctx.purpose,
        audit=hub.audit,
    )
    entry.basis = basis.as_audit()
    if stored is not None:
        return _from_stored(record_type, subject_id, allowed, basis, stored)
    fetched = await hub.connectors.fetch(record_type.name, subject_id)
    entry.details = {
        "connector_id": fetched.connector_id,
        "records": len(fetched.records),
        "dictionary_version": fetched.dictionary_version,
    }
    return _from_source(record_type, subject_id, allowed, basis, fetched)


def _from_source(
    record_type: RecordType,
    subject_id: str,
    allowed: list[str],
    basis: Basis,
    fetched: Fetched,
) -> PulledRecord:
    provenances = [
        Provenance(
            source_system=fetched.system,
            connector_id=fetched.connector_id,
            source_reference=record.raw_reference,
            retrieved_at=record.retrieved_at,
            last_updated=record.last_updated,
            dictionary_version=fetched.dictionary_version,
        )
        for record in fetched.records
    ]
    first = (
        provenances[0]
        if provenances
        else Provenance(
            source_system=fetched.system,
            connector_id=fetched.connector_id,
            source_reference=None,
            retrieved_at=fetched.retrieved_at,
            last_updated=None,
            dictionary_version=fetched.dictionary_version,
        )
    )
    return PulledRecord(
        record_type=record_type.name,
        subject_id=subject_id,
        records=[_cut(record.data, allowed) for record in fetched.records],
        fields=allowed,
        basis=basis,
        provenance=first,
        per_subject=record_type.per_subject,
        provenances=provenances,
    )


def _from_stored(
    record_type: RecordType,
    subject_id: str,
    allowed: list[str],
    basis: Basis,
    stored: StoredRecord,
) -> PulledRecord:
    """The hub's own record as the answer: ``hub`` is its source system."""
    provenance = Provenance(
        source_system="hub",
        connector_id=None,
        source_reference=f"filing/{stored.filing_id}",
        retrieved_at=utcnow(),
        last_updated=stored.created_at,
        dictionary_version=stored.dictionary_version,
        from_filing=stored.filing_id,
        from_procedure=stored.procedure,
    )
    return PulledRecord(
        record_type=record_type.name,
        subject_id=subject_id,
        records=[_cut(stored.record, allowed)],
        fields=allowed,
        basis=basis,
        provenance=provenance,
        per_subject=record_type.per_subject,
        provenances=[provenance],
    )
