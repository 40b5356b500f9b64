"""The dictionary as a service: views, publication of record versions, persistence.

A change is staged in the session, never written here: the caller's transaction writes and
commits it, after the route has appended the change's audit event (on SQLite the request's
transaction, once it has written, is the one writer and the access log could not append)."""

from __future__ import annotations

import csv
import io
import logging
from datetime import date
from typing import Any, cast

import pydantic
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from app.registry import errors
from app.registry.models import (
    CompatibilityModeChange,
    PublishedRecordVersion,
    RecordVersionStatusChange,
)
from app.timestamps import utcnow
from dictionary import (
    CodeList,
    CodeListVersion,
    CompatibilityMode,
    Dictionary,
    DictionaryError,
    IncompatibleVersion,
    InvalidRecordVersion,
    InvalidTransition,
    RecordType,
    RecordValidator,
    RecordVersion,
    Status,
    UnknownVersion,
    VersionConflict,
    Violation,
)

log = logging.getLogger("hub.registry")

_STATUS_ORDER: dict[str, int] = {"draft": 0, "published": 1, "deprecated": 2}


def record_type_of(dictionary: Dictionary, name: str) -> RecordType:
    record_type = dictionary.record_types.get(name)
    if record_type is None:
        raise errors.UnknownRecordType(f"The dictionary has no record type {name!r}.")
    return record_type


def version_of(dictionary: Dictionary, name: str, version: str | None) -> RecordVersion:
    record_type = record_type_of(dictionary, name)
    if version is None:
        return record_type.latest()
    try:
        return record_type.version(version)
    except UnknownVersion:
        raise errors.UnknownVersion(f"{name} has no version {version!r}.") from None


def validator_of(dictionary: Dictionary, name: str, version: str | None) -> RecordValidator:
    version_of(dictionary, name, version)
    return dictionary.validator(name, version)


def parse_as_of(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise errors.InvalidDate(
            f"as_of must be an ISO date (YYYY-MM-DD), not {value!r}."
        ) from None


def codelist_of(dictionary: Dictionary, codelist_id: str) -> CodeList:
    codelist = dictionary.codelists.get(codelist_id)
    if codelist is None:
        raise errors.UnknownCodelist(f"No code list {codelist_id!r}.")
    return codelist


def codelist_view(codelist: CodeList, as_of: date) -> dict[str, Any]:
    version = codelist.as_of(as_of)
    if version is None:
        raise errors.CodelistNotInForce(
            f"No version of {codelist.id} is in force on {as_of.isoformat()}."
        )
    return {
        "id": codelist.id,
        "name_vi": codelist.name_vi,
        "name_en": codelist.name_en,
        "definition_vi": codelist.definition_vi,
        "definition_en": codelist.definition_en,
        "owner": codelist.owner,
        "as_of": as_of.isoformat(),
        "version": version.version,
        "effective_from": version.effective_from,
        "effective_to": version.effective_to,
        "source": version.source,
        "versions": [
            {
                "version": v.version,
                "effective_from": v.effective_from,
                "effective_to": v.effective_to,
                "entries": len(v.entries),
            }
            for v in codelist.versions
        ],
        "entries": [e.model_dump(mode="json") for e in version.entries],
    }


def _crosswalk_versions(
    codelist: CodeList, from_version: str | None, to_version: str | None
) -> tuple[CodeListVersion, CodeListVersion]:
    """The two versions a crosswalk runs between: by default the last one and the one before."""
    labels = [v.version for v in codelist.versions]
    for label in (from_version, to_version):
        if label is not None and label not in labels:
            raise errors.UnknownVersion(
                f"{codelist.id} has no version {label!r}; versions: {', '.join(labels)}."
            )
    to_label = to_version or labels[-1]
    from_label = from_version or labels[max(labels.index(to_label) - 1, 0)]
    if labels.index(from_label) > labels.index(to_label):
        raise errors.InvalidCrosswalk(
            "a crosswalk only runs forward, from an older version to a newer"
        )
    return codelist.version(from_label), codelist.version(to_label)


def _maps_to(
    codelist: CodeList, code: str, source: CodeListVersion, target: CodeListVersion
) -> list[dict[str, Any]]:
    return [
        {
            "code": mapped,
            "label_vi": entry.label_vi if entry else None,
            "label_en": entry.label_en if entry else None,
        }
        for mapped in codelist.crosswalk(code, source.version, target.version)
        for entry in [target.entry(mapped)]
    ]


def crosswalk_view(
    codelist: CodeList, code: str, from_version: str | None, to_version: str | None
) -> dict[str, Any]:
    source, target = _crosswalk_versions(codelist, from_version, to_version)
    entry = source.entry(code)
    if entry is None:
        raise errors.UnknownCode(
            f"{code!r} is not a code of {codelist.id} version {source.version}."
        )
    return {
        "codelist": codelist.id,
        "from_version": source.version,
        "to_version": target.version,
        "code": code,
        "label_vi": entry.label_vi,
        "label_en": entry.label_en,
        "maps_to": _maps_to(codelist, code, source, target),
    }


def crosswalk_table(
    codelist: CodeList, from_version: str | None, to_version: str | None
) -> dict[str, Any]:
    """Every code of the older version with the code(s) it became, in the list's order."""
    source, target = _crosswalk_versions(codelist, from_version, to_version)
    return {
        "codelist": codelist.id,
        "from_version": source.version,
        "to_version": target.version,
        "rows": [
            {
                "code": entry.code,
                "label_vi": entry.label_vi,
                "label_en": entry.label_en,
                "maps_to": _maps_to(codelist, entry.code, source, target),
            }
            for entry in source.entries
        ],
    }


CROSSWALK_CSV_COLUMNS = (
    "from_version",
    "from_code",
    "from_label_vi",
    "from_label_en",
    "to_version",
    "to_code",
    "to_label_vi",
    "to_label_en",
)


def crosswalk_csv(table: dict[str, Any]) -> str:
    """The table as RFC 4180 CSV with a header row: one line per (old code, new code) pair; a
    code that maps to nothing has one line with the new code empty."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CROSSWALK_CSV_COLUMNS)
    for row in table["rows"]:
        for target in row["maps_to"] or [{"code": "", "label_vi": "", "label_en": ""}]:
            writer.writerow(
                (
                    table["from_version"],
                    row["code"],
                    row["label_vi"],
                    row["label_en"] or "",
                    table["to_version"],
                    target["code"],
                    target["label_vi"] or "",
                    target["label_en"] or "",
                )
            )
    return out.getvalue()


def prefers_csv(accept: str | None) -> bool:
    """Whether an Accept header ranks text/csv above JSON (q-values honoured, ties to JSON)."""
    if not accept:
        return False
    csv_q = json_q = 0.0
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        media = media.lower()
        if media == "text/csv":
            csv_q = max(csv_q, q)
        elif media in ("application/json", "application/*", "*/*"):
            json_q = max(json_q, q)
    return csv_q > 0 and csv_q > json_q


def parse_candidate(body: dict[str, Any]) -> RecordVersion:
    try:
        return RecordVersion.model_validate(body)
    except pydantic.ValidationError as exc:
        raise errors.InvalidRecordVersion(
            "The record version is not well formed.",
            errors=[
                {
                    "path": "/" + "/".join(str(p) for p in err["loc"]),
                    "code": f"request.{err['type']}",
                    "message": err["msg"],
                }
                for err in exc.errors()
            ],
        ) from None


def _invalid(exc: InvalidRecordVersion) -> errors.InvalidRecordVersion:
    return errors.InvalidRecordVersion(
        "The record version is not well formed.",
        errors=[{"path": "", "code": "invalid_record_version", "message": m} for m in exc.problems],
    )


async def compatibility(
    session: AsyncSession, dictionary: Dictionary, name: str, candidate: RecordVersion
) -> dict[str, Any]:
    await load_published(session, dictionary)
    record_type = record_type_of(dictionary, name)
    try:
        violations = dictionary.check_compatibility(name, candidate)
    except InvalidRecordVersion as exc:
        raise _invalid(exc) from None
    return {
        "record_type": name,
        "candidate_version": candidate.version,
        "mode": record_type.compatibility,
        "compatible": not violations,
        "violations": [_violation(v) for v in violations],
    }


def _violation(violation: Violation) -> dict[str, Any]:
    return violation.as_dict()


def _restore_on_rollback(
    session: AsyncSession, dictionary: Dictionary, name: str, before: RecordType
) -> None:
    """The dictionary in memory changes with the rows staged in the session, before the
    caller's transaction writes them: if it rolls back instead (the rows are refused, or the
    change's audit event could not be written), ``name`` goes back to what it was."""

    def restore(_session: Session, _transaction: SessionTransaction) -> None:
        dictionary.record_types[name] = before

    event.listen(session.sync_session, "after_soft_rollback", restore, once=True)


async def publish(
    session: AsyncSession,
    dictionary: Dictionary,
    name: str,
    candidate: RecordVersion,
    published_by: str,
) -> tuple[RecordVersion, bool]:
    """Publish ``candidate``: refused when incompatible, a no-op when already published.

    What other instances changed is applied first, so the mode checked is the current one."""
    await load_published(session, dictionary)
    record_type = record_type_of(dictionary, name)
    try:
        result = dictionary.publish(name, candidate)
    except IncompatibleVersion as exc:
        raise _incompatible(exc, candidate.version) from None
    except VersionConflict as exc:
        raise errors.VersionConflict(exc.reason) from None
    except InvalidRecordVersion as exc:
        raise _invalid(exc) from None
    if result.created:
        _restore_on_rollback(session, dictionary, name, record_type)
        session.add(
            PublishedRecordVersion(
                id=result.version.id,
                record_type=name,
                version=result.version.version,
                status=result.version.status,
                content=result.version.model_dump(mode="json", exclude={"id"}),
                published_at=utcnow(),
                published_by=published_by,
            )
        )
    return result.version, result.created


def _incompatible(exc: IncompatibleVersion, version: str) -> errors.IncompatibleVersion:
    return errors.IncompatibleVersion(
        f"{exc.name} {version} breaks the {exc.mode} compatibility of the record type.",
        errors=[_violation(v) for v in exc.violations],
    )


async def change_status(
    session: AsyncSession,
    dictionary: Dictionary,
    name: str,
    version: str,
    status: Status,
    changed_by: str,
) -> tuple[RecordVersion, str, bool]:
    """Move ``version`` one lifecycle step to ``status``; (version, previous status, changed).

    Publishing a draft is checked against the record type's compatibility mode as it is now.
    """
    await load_published(session, dictionary)
    previous = version_of(dictionary, name, version).status
    before = dictionary.record_types[name]
    try:
        updated = dictionary.set_status(name, version, status)
    except InvalidTransition as exc:
        raise errors.InvalidStatusTransition(
            f"{name} {version} is {exc.current}: {exc.reason}.",
            extra={"current_status": exc.current, "requested_status": exc.target},
        ) from None
    except IncompatibleVersion as exc:
        raise _incompatible(exc, version) from None
    except InvalidRecordVersion as exc:
        raise _invalid(exc) from None
    if updated.status == previous:
        return updated, previous, False
    _restore_on_rollback(session, dictionary, name, before)
    session.add(
        RecordVersionStatusChange(
            record_type=name,
            version=version,
            status=status,
            changed_at=utcnow(),
            changed_by=changed_by,
        )
    )
    return updated, previous, True


async def change_compatibility(
    session: AsyncSession,
    dictionary: Dictionary,
    name: str,
    mode: CompatibilityMode,
    changed_by: str,
) -> tuple[str, bool]:
    """Set the mode the record type's next versions are checked under; (previous, changed)."""
    await load_published(session, dictionary)
    previous = record_type_of(dictionary, name)
    if previous.compatibility == mode:
        return previous.compatibility, False
    dictionary.set_compatibility(name, mode)
    _restore_on_rollback(session, dictionary, name, previous)
    session.add(
        CompatibilityModeChange(
            record_type=name, mode=mode, changed_at=utcnow(), changed_by=changed_by
        )
    )
    return previous.compatibility, True


def deprecation_warnings(dictionary: Dictionary, name: str, version: str) -> list[dict[str, str]]:
    """A `deprecated_version` warning when ``version`` of ``name`` is deprecated, else none."""
    record_type = record_type_of(dictionary, name)
    if record_type.version(version).status != "deprecated":
        return []
    latest = record_type.latest()
    instead = f"; validate against {latest.version}" if latest.status == "published" else ""
    return [
        {
            "code": "deprecated_version",
            "message": f"{name} {version} is deprecated{instead}.",
        }
    ]


def warning_header(warnings: list[dict[str, str]]) -> dict[str, str]:
    """The same warnings as an HTTP ``Warning: 299`` header (RFC 7234 section 5.5)."""
    if not warnings:
        return {}
    text = "; ".join(w["message"].replace("\\", "").replace('"', "'") for w in warnings)
    return {"Warning": f'299 declare-once "{text}"'}


async def load_published(session: AsyncSession, dictionary: Dictionary) -> int:
    """Apply what the API changed on top of the shipped content: published versions, the
    compatibility modes set, then the lifecycle steps. Idempotent; an instance calls it on
    start and before each dictionary change, so it sees the other instances' changes."""
    rows = (
        await session.scalars(
            select(PublishedRecordVersion).order_by(PublishedRecordVersion.published_at)
        )
    ).all()
    for row in rows:
        dictionary.publish(row.record_type, RecordVersion.model_validate(row.content), check=False)
    modes = await session.execute(
        select(CompatibilityModeChange.record_type, CompatibilityModeChange.mode).order_by(
            CompatibilityModeChange.id
        )
    )
    latest_modes = {record_type: mode for record_type, mode in modes}
    for record_type, mode in latest_modes.items():
        if record_type in dictionary.record_types:
            dictionary.set_compatibility(record_type, cast(CompatibilityMode, mode))
    steps = (
        await session.execute(
            select(
                RecordVersionStatusChange.record_type,
                RecordVersionStatusChange.version,
                RecordVersionStatusChange.status,
            )
        )
    ).all()
    for record_type, version, status in sorted(steps, key=lambda s: _STATUS_ORDER[s[2]]):
        _replay_step(dictionary, record_type, version, status)
    return len(rows)


def _replay_step(dictionary: Dictionary, name: str, version: str, status: str) -> None:
    try:
        current = dictionary.record_version(name, version)
        if _STATUS_ORDER[status] > _STATUS_ORDER[current.status]:
            dictionary.set_status(name, version, cast(Status, status), check=False)
    except DictionaryError as exc:
        # The shipped content no longer has that version, or moved it on itself.
        log.warning("dictionary status step not applied (%s %s): %s", name, version, exc)
