"""The dictionary as a service: views, publication of record versions, persistence."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pydantic
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import BadRequest, Conflict, NotFound, Unprocessable
from app.registry.models import PublishedRecordVersion
from dictionary import (
    CodeList,
    Dictionary,
    IncompatibleVersion,
    InvalidRecordVersion,
    RecordType,
    RecordValidator,
    RecordVersion,
    UnknownVersion,
    VersionConflict,
    Violation,
)


def record_type_of(dictionary: Dictionary, name: str) -> RecordType:
    record_type = dictionary.record_types.get(name)
    if record_type is None:
        raise NotFound(f"The dictionary has no record type {name!r}.", code="unknown_record_type")
    return record_type


def version_of(dictionary: Dictionary, name: str, version: str | None) -> RecordVersion:
    record_type = record_type_of(dictionary, name)
    if version is None:
        return record_type.latest()
    try:
        return record_type.version(version)
    except UnknownVersion:
        raise NotFound(f"{name} has no version {version!r}.", code="unknown_version") from None


def validator_of(dictionary: Dictionary, name: str, version: str | None) -> RecordValidator:
    version_of(dictionary, name, version)
    return dictionary.validator(name, version)


def parse_as_of(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadRequest(
            f"as_of must be an ISO date (YYYY-MM-DD), not {value!r}.", code="invalid_date"
        ) from None


def codelist_of(dictionary: Dictionary, codelist_id: str) -> CodeList:
    codelist = dictionary.codelists.get(codelist_id)
    if codelist is None:
        raise NotFound(f"No code list {codelist_id!r}.", code="unknown_codelist")
    return codelist


def codelist_view(codelist: CodeList, as_of: date) -> dict[str, Any]:
    version = codelist.as_of(as_of)
    if version is None:
        raise NotFound(
            f"No version of {codelist.id} is in force on {as_of.isoformat()}.",
            code="codelist_not_in_force",
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


def crosswalk_view(
    codelist: CodeList, code: str, from_version: str | None, to_version: str | None
) -> dict[str, Any]:
    labels = [v.version for v in codelist.versions]
    for label in (from_version, to_version):
        if label is not None and label not in labels:
            raise NotFound(
                f"{codelist.id} has no version {label!r}; versions: {', '.join(labels)}.",
                code="unknown_version",
            )
    try:
        targets = codelist.crosswalk(code, from_version, to_version)
    except ValueError as exc:
        raise BadRequest(str(exc), code="invalid_crosswalk") from None
    to_label = to_version or labels[-1]
    from_label = from_version or labels[max(labels.index(to_label) - 1, 0)]
    source = codelist.version(from_label).entry(code)
    if source is None:
        raise NotFound(
            f"{code!r} is not a code of {codelist.id} version {from_label}.", code="unknown_code"
        )
    target_version = codelist.version(to_label)
    return {
        "codelist": codelist.id,
        "from_version": from_label,
        "to_version": to_label,
        "code": code,
        "label_vi": source.label_vi,
        "label_en": source.label_en,
        "maps_to": [
            {
                "code": target,
                "label_vi": entry.label_vi if entry else None,
                "label_en": entry.label_en if entry else None,
            }
            for target in targets
            for entry in [target_version.entry(target)]
        ],
    }


def parse_candidate(body: dict[str, Any]) -> RecordVersion:
    try:
        return RecordVersion.model_validate(body)
    except pydantic.ValidationError as exc:
        raise Unprocessable(
            "The record version is not well formed.",
            code="invalid_record_version",
            errors=[
                {
                    "path": "/" + "/".join(str(p) for p in err["loc"]),
                    "code": f"request.{err['type']}",
                    "message": err["msg"],
                }
                for err in exc.errors()
            ],
        ) from None


def _invalid(exc: InvalidRecordVersion) -> Unprocessable:
    return Unprocessable(
        "The record version is not well formed.",
        code="invalid_record_version",
        errors=[{"path": "", "code": "invalid_record_version", "message": m} for m in exc.problems],
    )


def compatibility(dictionary: Dictionary, name: str, candidate: RecordVersion) -> dict[str, Any]:
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


async def publish(
    session: AsyncSession,
    dictionary: Dictionary,
    name: str,
    candidate: RecordVersion,
    published_by: str,
) -> tuple[RecordVersion, bool]:
    """Publish ``candidate``: refused when incompatible, a no-op when already published."""
    record_type_of(dictionary, name)
    try:
        result = dictionary.publish(name, candidate)
    except IncompatibleVersion as exc:
        raise Conflict(
            f"{name} {candidate.version} breaks the {dictionary.record_types[name].compatibility} "
            "compatibility of the record type.",
            code="incompatible_version",
            errors=[_violation(v) for v in exc.violations],
        ) from None
    except VersionConflict as exc:
        raise Conflict(exc.reason, code="version_conflict") from None
    except InvalidRecordVersion as exc:
        raise _invalid(exc) from None
    if result.created:
        session.add(
            PublishedRecordVersion(
                id=result.version.id,
                record_type=name,
                version=result.version.version,
                status=result.version.status,
                content=result.version.model_dump(mode="json", exclude={"id"}),
                published_at=datetime.now(UTC),
                published_by=published_by,
            )
        )
        await session.commit()
    return result.version, result.created


async def load_published(session: AsyncSession, dictionary: Dictionary) -> int:
    """Apply the versions published through the API on top of the shipped content."""
    rows = (
        await session.scalars(
            select(PublishedRecordVersion).order_by(PublishedRecordVersion.published_at)
        )
    ).all()
    for row in rows:
        dictionary.publish(row.record_type, RecordVersion.model_validate(row.content))
    return len(rows)
