"""The national data dictionary over HTTP: browse, publish, and validate records."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from app.audit.admin import record_admin_action
from app.audit.events import EventKind
from app.deps import DictionaryDep, SessionDep
from app.errors import BadRequest, NotFound, problem_responses
from app.inputs import parse_json
from app.registry import service
from app.registry.schemas import (
    BatchResult,
    CompatibilityReport,
    PublishResultOut,
    ValidationResult,
)
from app.registry.validation import NdjsonValidation, parse_json_array, validate_array
from app.responses import DuplexStreamingResponse
from app.routing import LARGE_BODY, HubRoute
from app.security.deps import PUBLIC, AdminClient, AnyClient

router = APIRouter(prefix="/v1/dictionary", tags=["dictionary"], route_class=HubRoute)
validation_router = APIRouter(prefix="/v1/validate", tags=["validation"], route_class=HubRoute)

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
    }
}
NDJSON_TYPES = ("application/x-ndjson", "application/ndjson", "application/jsonl")


@router.get("/elements", summary="List dictionary elements", dependencies=[PUBLIC])
async def list_elements(
    dictionary: DictionaryDep,
    namespace: Annotated[str | None, Query(description="e.g. person")] = None,
    q: Annotated[str | None, Query(description="Search in ids and names.")] = None,
) -> list[dict[str, Any]]:
    """Every element with its definitions, type, format, code list and sensitivity."""
    needle = q.casefold() if q else None
    out = []
    for element in sorted(dictionary.elements.values(), key=lambda e: e.id):
        if namespace and element.namespace != namespace:
            continue
        text = f"{element.id} {element.name_vi or ''} {element.name_en or ''}".casefold()
        if needle and needle not in text:
            continue
        out.append(element.model_dump(mode="json"))
    return out


@router.get(
    "/elements/{element_id}",
    summary="Get one element",
    dependencies=[PUBLIC],
    responses=problem_responses(404),
)
async def get_element(element_id: str, dictionary: DictionaryDep) -> dict[str, Any]:
    """One element by id (`namespace.name`)."""
    element = dictionary.elements.get(element_id)
    if element is None:
        raise NotFound(f"No element {element_id!r}.", code="unknown_element")
    return element.model_dump(mode="json")


@router.get("/codelists", summary="List code lists", dependencies=[PUBLIC])
async def list_codelists(dictionary: DictionaryDep) -> list[dict[str, Any]]:
    """Every code list with its versions and their effective dates."""
    return [
        {
            "id": c.id,
            "name_vi": c.name_vi,
            "name_en": c.name_en,
            "versions": [
                {
                    "version": v.version,
                    "effective_from": v.effective_from,
                    "effective_to": v.effective_to,
                    "entries": len(v.entries),
                }
                for v in c.versions
            ],
        }
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
) -> dict[str, Any]:
    """The version in force on `as_of` (default today), with its entries. The provinces give
    63 entries as of 2025-06-30 and 34 as of 2025-07-01."""
    codelist = service.codelist_of(dictionary, codelist_id)
    return service.codelist_view(codelist, service.parse_as_of(as_of) or date.today())


@router.get(
    "/codelists/{codelist_id}/crosswalk",
    summary="Map a code across versions",
    dependencies=[PUBLIC],
    responses=problem_responses(400, 404),
)
async def crosswalk(
    codelist_id: str,
    dictionary: DictionaryDep,
    code: Annotated[str, Query(description="The code in the older version.")],
    from_version: Annotated[str | None, Query(alias="from")] = None,
    to_version: Annotated[str | None, Query(alias="to")] = None,
) -> dict[str, Any]:
    """Which code(s) an old code became, e.g. province 02 (Hà Giang) -> 08 (Tuyên Quang)."""
    codelist = service.codelist_of(dictionary, codelist_id)
    return service.crosswalk_view(codelist, code, from_version, to_version)


@router.get("/records", summary="List record types", dependencies=[PUBLIC])
async def list_records(dictionary: DictionaryDep) -> list[dict[str, Any]]:
    """Every record type with its owning system, versions and compatibility mode."""
    return [
        {
            "name": r.name,
            "title_vi": r.title_vi,
            "title_en": r.title_en,
            "owner_system": r.owner_system,
            "subject_field": r.subject_field,
            "per_subject": r.per_subject,
            "compatibility": r.compatibility,
            "latest": r.latest().version,
            "versions": [
                {"version": v.version, "status": v.status, "id": v.id} for v in r.versions
            ],
        }
        for r in sorted(dictionary.record_types.values(), key=lambda r: r.name)
    ]


@router.get(
    "/records/{name}",
    summary="Get a record type",
    dependencies=[PUBLIC],
    responses=problem_responses(404),
)
async def get_record(name: str, dictionary: DictionaryDep) -> dict[str, Any]:
    """A record type with all its versions."""
    record_type = service.record_type_of(dictionary, name)
    return record_type.model_dump(mode="json", exclude={"versions": {"__all__": {"examples"}}})


@router.get(
    "/records/{name}/versions/{version}",
    summary="Get a record version",
    dependencies=[PUBLIC],
    responses=problem_responses(404),
)
async def get_record_version(name: str, version: str, dictionary: DictionaryDep) -> dict[str, Any]:
    """One immutable version: fields, rules and its content-addressed id."""
    found = service.version_of(dictionary, name, version)
    return {"record_type": name, **found.model_dump(mode="json", exclude={"examples"})}


@router.get(
    "/records/{name}/versions/{version}/json-schema",
    summary="JSON Schema of a record version",
    dependencies=[PUBLIC],
    responses=problem_responses(400, 404),
)
async def get_json_schema(
    name: str, version: str, dictionary: DictionaryDep, as_of: AsOf = None
) -> dict[str, Any]:
    """JSON Schema 2020-12, with the codes in force on `as_of` (default today) as enums."""
    validator = service.validator_of(dictionary, name, version)
    when = service.parse_as_of(as_of)
    return validator.json_schema if when is None else validator.json_schema_as_of(when)


@router.get(
    "/records/{name}/versions/{version}/examples",
    summary="Examples of a record version",
    dependencies=[PUBLIC],
    responses=problem_responses(404),
)
async def get_examples(name: str, version: str, dictionary: DictionaryDep) -> dict[str, Any]:
    """Valid records, and invalid ones with the error codes each must produce."""
    found = service.version_of(dictionary, name, version)
    return {"record_type": name, "version": version, **found.examples.model_dump(mode="json")}


@router.post(
    "/records/{name}/versions",
    summary="Publish a record version",
    status_code=201,
    responses=problem_responses(401, 403, 404, 409, 422),
    openapi_extra=_ANY_JSON_BODY,
)
async def publish_version(
    name: str,
    request: Request,
    admin: AdminClient,
    session: SessionDep,
    dictionary: DictionaryDep,
) -> PublishResultOut:
    """Publish a new immutable version after the compatibility check. A breaking version is
    refused with every violation listed; the same content again returns the existing one."""
    service.record_type_of(dictionary, name)
    candidate = service.parse_candidate(await _json_object(request))
    version, created = await service.publish(session, dictionary, name, candidate, admin.client_id)
    if created:
        await record_admin_action(
            request,
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
    name: str, request: Request, admin: AdminClient, dictionary: DictionaryDep
) -> CompatibilityReport:
    """What publishing would say, without publishing."""
    service.record_type_of(dictionary, name)
    candidate = service.parse_candidate(await _json_object(request))
    return CompatibilityReport(**service.compatibility(dictionary, name, candidate))


async def _json_body(request: Request) -> Any:
    return parse_json(await request.body())


async def _json_object(request: Request) -> dict[str, Any]:
    body = await _json_body(request)
    if not isinstance(body, dict):
        raise BadRequest("The body must be a JSON object.", code="body_not_object")
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
    return ValidationResult(
        record_type=record_type,
        version=validator.version,
        as_of=(when or date.today()).isoformat(),
        valid=not issues,
        errors=[i.as_dict() for i in issues],
    )


@validation_router.post(
    "/{record_type}/batch",
    summary="Validate many records (JSON array or NDJSON stream)",
    responses={
        200: {
            "description": "A JSON summary for a JSON array; one NDJSON result line per "
            "record, streamed, for NDJSON.",
            "content": {"application/x-ndjson": {}},
        },
        **problem_responses(400, 401, 403, 404, 413),
    },
    openapi_extra=_BATCH_BODY,
    response_model=None,
)
async def validate_batch(
    record_type: str,
    request: Request,
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
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type in NDJSON_TYPES:
        run = NdjsonValidation(validator, request.stream(), when)
        await run.start()
        return DuplexStreamingResponse(run.results(), media_type="application/x-ndjson")
    records = parse_json_array(await request.body())
    return BatchResult(**validate_array(validator, records, when))
