"""The national data dictionary over HTTP: browse, publish, and validate records."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse

from app.deps import DictionaryDep, SessionDep
from app.errors import problem_responses
from app.events import EventKind
from app.hub import Hub, HubDep
from app.inputs import parse_json
from app.registry import service
from app.registry.errors import BodyNotObject, UnknownElement
from app.registry.schemas import (
    BatchResult,
    CodeListSummary,
    CodeListVersionSummary,
    CodeListView,
    CompatibilityModeIn,
    CompatibilityModeOut,
    CompatibilityReport,
    CrosswalkOut,
    CrosswalkTableOut,
    PublishResultOut,
    RecordExamples,
    RecordJsonSchema,
    RecordTypeDetail,
    RecordTypeSummary,
    RecordVersionOut,
    RecordVersionRef,
    ValidationResult,
    VersionStatusOut,
)
from app.registry.validation import NdjsonValidation, parse_json_array, validate_array
from app.responses import DuplexStreamingResponse
from app.routing import LARGE_BODY, NDJSON_TYPES, HubRoute, media_type_of
from app.security.actor import Actor, AdminActor, record
from app.security.deps import PUBLIC, AdminClient, AnyClient
from dictionary import Status
from dictionary.model import Element


async def _catch_up(hub: HubDep) -> None:
    """Apply what other instances changed in the dictionary, at most once an interval."""
    await hub.dictionary_sync.refresh_if_stale()


_CAUGHT_UP = [Depends(_catch_up)]
router = APIRouter(
    prefix="/v1/dictionary", tags=["dictionary"], route_class=HubRoute, dependencies=_CAUGHT_UP
)
validation_router = APIRouter(
    prefix="/v1/validate", tags=["validation"], route_class=HubRoute, dependencies=_CAUGHT_UP
)

AsOf = Annotated[
    str | None, Query(description="ISO date; codes are checked as of it. Default: today.")
]
VersionQuery = Annotated[str | None, Query(description="Record version; the latest if unset.")]

_ANY_JSON_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
}
_BATCH_BODY: dict[str, Any] = {
    **LARGE_BODY,
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
            "application/x-ndjson": {"schema": {"type": "string"}},
        },
    },
}


@router.get("/elements", summary="List dictionary elements", dependencies=[PUBLIC])
async def list_elements(
    dictionary: DictionaryDep,
    namespace: Annotated[str | None, Query(description="e.g. person")] = None,
    q: Annotated[str | None, Query(description="Search in ids and names.")] = None,
) -> list[Element]:
    """Every element with its definitions, type, format, code list and sensitivity."""
    needle = q.casefold() if q else None
    out = []
    for element in sorted(dictionary.elements.values(), key=lambda e: e.id):
        if namespace and element.namespace != namespace:
            continue
        text = f"{element.id} {element.name_vi or ''} {element.name_en or ''}".casefold()
        if needle and needle not in text:
            continue
        out.append(element)
    return out


@router.get(
    "/elements/{element_id}",
    summary="Get one element",
    dependencies=[PUBLIC],
    responses=problem_responses(404),
)
async def get_element(element_id: str, dictionary: DictionaryDep) -> Element:
    """One element by id (`namespace.name`)."""
    element = dictionary.elements.get(element_id)
    if element is None:
        raise UnknownElement(f"No element {element_id!r}.")
    return element


@router.get("/codelists", summary="List code lists", dependencies=[PUBLIC])
async def list_codelists(dictionary: DictionaryDep) -> list[CodeListSummary]:
    """Every code list with its versions and their effective dates."""
    return [
        CodeListSummary(
            id=c.id,
            name_vi=c.name_vi,
            name_en=c.name_en,
            versions=[
                CodeListVersionSummary(
                    version=v.version,
                    effective_from=v.effective_from,
                    effective_to=v.effective_to,
                    entries=len(v.entries),
                )
                for v in c.versions
            ],
        )
        for c in sorted(dictionary.codelists.values(), key=lambda c: c.id)
    ]


@router.get(
    "/codelists/{codelist_id}",
    summary="Get a code list as of a date",
    dependencies=[PUBLIC],
    responses=problem_responses(400, 404),
)
async def get_codelist(
    codelist_id: str, dictionary: DictionaryDep, as_of: AsOf = None
) -> CodeListView:
    """The version in force on `as_of` (default today), with its entries. The provinces give
    63 entries as of 2025-06-30 and 34 as of 2025-07-01."""
    codelist = service.codelist_of(dictionary, codelist_id)
    view = service.codelist_view(codelist, service.parse_as_of(as_of) or date.today())
    return CodeListView.model_validate(view)


@router.get(
    "/codelists/{codelist_id}/crosswalk",
    summary="Map a code across versions, or download the whole crosswalk",
    dependencies=[PUBLIC],
    response_model=CrosswalkOut | CrosswalkTableOut,
    responses={
        200: {
            "description": "One code's mapping, or with no `code` the whole table: JSON, or "
            "CSV with a header row when `Accept` prefers `text/csv`.",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        },
        **problem_responses(400, 404),
    },
)
async def crosswalk(
    codelist_id: str,
    request: Request,
    dictionary: DictionaryDep,
    code: Annotated[
        str | None, Query(description="The code in the older version; the whole table if unset.")
    ] = None,
    from_version: Annotated[str | None, Query(alias="from")] = None,
    to_version: Annotated[str | None, Query(alias="to")] = None,
) -> CrosswalkOut | CrosswalkTableOut | Response:
    """Which code(s) an old code became, e.g. province 02 (Hà Giang) -> 08 (Tuyên Quang).
    Without `code`, every code of the older version with what it became (63 rows for the
    provinces 2008 -> 2025); send `Accept: text/csv` for CSV, one line per (old, new) pair
    with the columns `from_version,from_code,from_label_vi,from_label_en,to_version,to_code,
    to_label_vi,to_label_en`."""
    codelist = service.codelist_of(dictionary, codelist_id)
    if code is not None:
        return CrosswalkOut(**service.crosswalk_view(codelist, code, from_version, to_version))
    table = service.crosswalk_table(codelist, from_version, to_version)
    if service.prefers_csv(request.headers.get("accept")):
        filename = f"{codelist.id}-{table['from_version']}-{table['to_version']}.csv"
        return Response(
            service.crosswalk_csv(table),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )
    return CrosswalkTableOut(**table)


@router.get("/records", summary="List record types", dependencies=[PUBLIC])
async def list_records(dictionary: DictionaryDep) -> list[RecordTypeSummary]:
    """Every record type with its owning system, versions and compatibility mode."""
    return [
        RecordTypeSummary(
            name=r.name,
            title_vi=r.title_vi,
            title_en=r.title_en,
            owner_system=r.owner_system,
            subject_field=r.subject_field,
            per_subject=r.per_subject,
            compatibility=r.compatibility,
            latest=r.latest().version,
            versions=[
                RecordVersionRef(version=v.version, status=v.status, id=v.id) for v in r.versions
            ],
        )
        for r in sorted(dictionary.record_types.values(), key=lambda r: r.name)
    ]


@router.get(
    "/records/{name}",
    summary="Get a record type",
    dependencies=[PUBLIC],
    responses=problem_responses(404),
)
async def get_record(name: str, dictionary: DictionaryDep) -> RecordTypeDetail:
    """A record type with all its versions."""
    record_type = service.record_type_of(dictionary, name)
    return RecordTypeDetail.model_validate(
        record_type.model_dump(mode="json", exclude={"versions": {"__all__": {"examples"}}})
    )


@router.get(
    "/records/{name}/versions/{version}",
    summary="Get a record version",
    dependencies=[PUBLIC],
    responses=problem_responses(404),
)
async def get_record_version(
    name: str, version: str, dictionary: DictionaryDep
) -> RecordVersionOut:
    """One immutable version: fields, rules and its content-addressed id."""
    found = service.version_of(dictionary, name, version)
    return RecordVersionOut.model_validate(
        {"record_type": name, **found.model_dump(mode="json", exclude={"examples"})}
    )


@router.get(
    "/records/{name}/versions/{version}/json-schema",
    summary="JSON Schema of a record version",
    dependencies=[PUBLIC],
    responses=problem_responses(400, 404),
)
async def get_json_schema(
    name: str, version: str, dictionary: DictionaryDep, as_of: AsOf = None
) -> RecordJsonSchema:
    """JSON Schema 2020-12, with the codes in force on `as_of` (default today) as enums."""
    validator = service.validator_of(dictionary, name, version)
    when = service.parse_as_of(as_of)
    schema = validator.json_schema if when is None else validator.json_schema_as_of(when)
    return RecordJsonSchema(schema)


@router.get(
    "/records/{name}/versions/{version}/examples",
    summary="Examples of a record version",
    dependencies=[PUBLIC],
    responses=problem_responses(404),
)
async def get_examples(name: str, version: str, dictionary: DictionaryDep) -> RecordExamples:
    """Valid records, and invalid ones with the error codes each must produce."""
    found = service.version_of(dictionary, name, version)
    examples = found.examples.model_dump(mode="json")
    return RecordExamples.model_validate({"record_type": name, "version": version, **examples})


@router.post(
    "/records/{name}/versions",
    summary="Publish a record version",
    status_code=201,
    responses=problem_responses(400, 401, 403, 404, 409, 422),
    openapi_extra=_ANY_JSON_BODY,
)
async def publish_version(
    name: str, request: Request, hub: HubDep, admin: AdminActor, session: SessionDep
) -> PublishResultOut:
    """Publish a new immutable version after the compatibility check. A breaking version is
    refused with every violation listed; the same content again returns the existing one."""
    service.record_type_of(hub.dictionary, name)
    candidate = service.parse_candidate(await _json_object(request))
    version, created = await service.publish(
        session, hub.dictionary, name, candidate, admin.client.client_id
    )
    if created:
        await record(
            hub.audit,
            admin,
            EventKind.DICTIONARY_PUBLISHED,
            record_type=name,
            details={"version": version.version, "id": version.id},
        )
    return PublishResultOut(
        record_type=name, version=version.version, id=version.id, created=created
    )


@router.post(
    "/records/{name}/compatibility",
    summary="Check a candidate version (dry run)",
    responses=problem_responses(401, 403, 404, 422),
    openapi_extra=_ANY_JSON_BODY,
)
async def check_compatibility(
    name: str,
    request: Request,
    admin: AdminClient,
    session: SessionDep,
    dictionary: DictionaryDep,
) -> CompatibilityReport:
    """What publishing would say, without publishing."""
    service.record_type_of(dictionary, name)
    candidate = service.parse_candidate(await _json_object(request))
    return CompatibilityReport(**await service.compatibility(session, dictionary, name, candidate))


@router.post(
    "/records/{name}/versions/{version}/publish",
    summary="Publish a draft version",
    operation_id="publish_draft_version",
    responses=problem_responses(400, 401, 403, 404, 409, 422),
)
async def publish_draft_version(
    name: str, version: str, hub: HubDep, admin: AdminActor, session: SessionDep
) -> VersionStatusOut:
    """Make a draft the published version it was prepared as, after checking it against the
    record type's compatibility mode as it is now (`409 incompatible_version`). Publishing a
    published version changes nothing; a deprecated one is `409 invalid_status_transition`."""
    return await _change_status(hub, admin, session, name, version, "published")


@router.post(
    "/records/{name}/versions/{version}/deprecate",
    summary="Deprecate a published version",
    operation_id="deprecate_version",
    responses=problem_responses(400, 401, 403, 404, 409),
)
async def deprecate_version(
    name: str, version: str, hub: HubDep, admin: AdminActor, session: SessionDep
) -> VersionStatusOut:
    """Mark a published version deprecated: records still validate against it, with a
    `deprecated_version` warning. A draft cannot be deprecated (`409
    invalid_status_transition`); deprecating a deprecated version changes nothing."""
    return await _change_status(hub, admin, session, name, version, "deprecated")


async def _change_status(
    hub: Hub,
    admin: Actor,
    session: SessionDep,
    name: str,
    version: str,
    status: Status,
) -> VersionStatusOut:
    updated, previous, changed = await service.change_status(
        session, hub.dictionary, name, version, status, admin.client.client_id
    )
    if changed:
        await record(
            hub.audit,
            admin,
            EventKind.DICTIONARY_STATUS_CHANGED,
            record_type=name,
            details={"version": version, "id": updated.id, "from": previous, "to": status},
        )
    return VersionStatusOut(
        record_type=name,
        version=version,
        id=updated.id,
        status=updated.status,
        previous_status=previous,
        changed=changed,
    )


@router.put(
    "/records/{name}/compatibility-mode",
    summary="Set a record type's compatibility mode",
    operation_id="set_compatibility_mode",
    responses=problem_responses(400, 401, 403, 404, 422),
)
async def set_compatibility_mode(
    name: str,
    body: Annotated[CompatibilityModeIn, Body()],
    hub: HubDep,
    admin: AdminActor,
    session: SessionDep,
) -> CompatibilityModeOut:
    """The mode (`NONE`, `BACKWARD`, `FORWARD`, `FULL` or a `_TRANSITIVE` one) that the next
    published version of the record type is checked under, on every instance. Kept in the
    database over the YAML's; versions already published are not re-checked."""
    previous, changed = await service.change_compatibility(
        session, hub.dictionary, name, body.mode, admin.client.client_id
    )
    if changed:
        await record(
            hub.audit,
            admin,
            EventKind.DICTIONARY_COMPATIBILITY_CHANGED,
            record_type=name,
            details={"from": previous, "to": body.mode},
        )
    return CompatibilityModeOut(
        record_type=name, mode=body.mode, previous_mode=previous, changed=changed
    )


async def _json_body(request: Request) -> Any:
    return parse_json(await request.body())


async def _json_object(request: Request) -> dict[str, Any]:
    body = await _json_body(request)
    if not isinstance(body, dict):
        raise BodyNotObject("The body must be a JSON object.")
    return body


@validation_router.post(
    "/{record_type}",
    summary="Validate one record",
    responses=problem_responses(400, 401, 403, 404, 413),
    openapi_extra=_ANY_JSON_BODY,
)
async def validate_record(
    record_type: str,
    request: Request,
    response: Response,
    client: AnyClient,
    dictionary: DictionaryDep,
    version: VersionQuery = None,
    as_of: AsOf = None,
) -> ValidationResult:
    """Every error of the record, each with a JSON Pointer, the element, a stable code and a
    message. Unknown fields are errors. The answer is 200 whether or not the record is valid."""
    validator = service.validator_of(dictionary, record_type, version)
    when = service.parse_as_of(as_of)
    record = await _json_body(request)
    issues = validator.validate(record, as_of=when)
    warnings = service.deprecation_warnings(dictionary, record_type, validator.version)
    response.headers.update(service.warning_header(warnings))
    return ValidationResult(
        record_type=record_type,
        version=validator.version,
        as_of=(when or date.today()).isoformat(),
        valid=not issues,
        errors=[i.as_dict() for i in issues],
        warnings=warnings,
    )


@validation_router.post(
    "/{record_type}/batch",
    summary="Validate many records (JSON array or NDJSON stream)",
    responses={
        200: {
            "model": BatchResult,
            "description": "A JSON summary for a JSON array; one NDJSON result line per "
            "record, streamed, for NDJSON.",
            "content": {"application/x-ndjson": {"schema": {"type": "string"}}},
        },
        **problem_responses(400, 401, 403, 404, 413),
    },
    openapi_extra=_BATCH_BODY,
    response_model=None,
)
async def validate_batch(
    record_type: str,
    request: Request,
    response: Response,
    client: AnyClient,
    dictionary: DictionaryDep,
    version: VersionQuery = None,
    as_of: AsOf = None,
) -> BatchResult | StreamingResponse:
    """Send `Content-Type: application/x-ndjson` to stream records in and results out (one
    line each: `{"line": n, "valid": ..., "errors": [...]}`); a malformed line among the first
    2,000 is a 400 with its line number, a later one becomes an error line. A JSON array gets
    one summary document."""
    validator = service.validator_of(dictionary, record_type, version)
    when = service.parse_as_of(as_of)
    warnings = service.deprecation_warnings(dictionary, record_type, validator.version)
    if media_type_of(request) in NDJSON_TYPES:
        run = NdjsonValidation(validator, request.stream(), when)
        await run.start()
        return DuplexStreamingResponse(
            run.results(),
            media_type="application/x-ndjson",
            headers=service.warning_header(warnings),
        )
    records = parse_json_array(await request.body())
    response.headers.update(service.warning_header(warnings))
    return BatchResult(**validate_array(validator, records, when), warnings=warnings)
