"""The OpenAPI document as clients generate from it.

Routes declare the errors that are their own (``responses=problem_responses(404, 409)``).
The errors every route of a kind can send are added here, once, from what the route is:

- 400 on every operation: the edge refuses a malformed request (control characters in the
  URL or a header, a body that is not JSON) before any route runs;
- 401 and 403 on every route that takes a bearer credential (every route but the public),
  and 503 ``audit_unavailable`` (the access log cannot be written);
- 404 on every route with a path parameter (it names something that may not exist);
- 422 ``request_invalid`` on every route with a parameter or a body (FastAPI's request
  validation, answered as a Problem, never as FastAPI's ``HTTPValidationError``);
- 413 and 415 on every route with a request body.

Every error is an RFC 9457 Problem (``application/problem+json``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

from app.errors import problem_responses

# FastAPI's own validation error schemas: the hub never sends them.
_FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")


def problem_schema() -> dict[str, Any]:
    """The RFC 9457 problem document every error uses."""
    return {
        "type": "object",
        "title": "Problem",
        "required": ["type", "title", "status", "code", "detail", "request_id"],
        "properties": {
            "type": {"type": "string", "format": "uri"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "code": {"type": "string", "description": "Stable error code to branch on."},
            "detail": {"type": "string"},
            "instance": {"type": ["string", "null"]},
            "request_id": {"type": ["string", "null"]},
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "path": {"type": "string"},
                        "in": {"type": "string"},
                        "code": {"type": "string"},
                        "message": {"type": "string"},
                    },
                },
            },
        },
    }


_REQUIRED_MARK = "x-hub-required"
PRINTABLE_HEADER_PATTERN = r"^[\x21-\x7e]([\x20-\x7e]{0,198}[\x21-\x7e])?$"
"""1 to 200 printable ASCII characters, no space at either end (``app.headers``)."""


def required_in_docs(**schema: Any) -> dict[str, Any]:
    """``json_schema_extra`` of a parameter declared optional so that the route itself can
    refuse its absence with a stable code (``missing_user_id``), but documented as required."""
    return {**schema, _REQUIRED_MARK: True}


def problem_response_entry(status: int) -> dict[str, Any]:
    return problem_responses(status)[status]


def operation_id(route: APIRoute) -> str:
    """A route's operation id: its endpoint's name (``list_clients``), short and stable."""
    return route.name


def _common_statuses(operation: dict[str, Any]) -> list[int]:
    statuses = [400]
    if operation.get("security"):  # the bearer scheme: an API key or a citizen's eID token
        # 503 `audit_unavailable`: what an authenticated caller does is logged before it is
        # answered, and nothing is answered when the access log cannot be written.
        statuses += [401, 403, 503]
    parameters = operation.get("parameters", [])
    has_body = "requestBody" in operation
    if any(p.get("in") == "path" for p in parameters):
        statuses.append(404)
    if has_body:
        statuses += [413, 415]
    if parameters or has_body:
        statuses.append(422)
    return statuses


def complete_operations(schema: dict[str, Any]) -> None:
    """Declare the common problems of every operation and only Problem for errors."""
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path" and parameter["schema"].get("type") == "string":
                    # An empty segment never matches the route.
                    parameter["schema"].setdefault("minLength", 1)
                if parameter.get("schema", {}).pop(_REQUIRED_MARK, False):
                    parameter["required"] = True
                    parameter["schema"].pop("anyOf", None)
                    parameter["schema"].setdefault("type", "string")
            responses = operation.setdefault("responses", {})
            for status in _common_statuses(operation):
                responses.setdefault(str(status), problem_response_entry(status))
            for status, response in responses.items():
                if status.startswith(("4", "5")) and _names_fastapi_validation(response):
                    responses[status] = problem_response_entry(int(status))
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    for name in _FASTAPI_VALIDATION_SCHEMAS:
        schemas.pop(name, None)
    schemas["Problem"] = problem_schema()
    _require_discriminators(schema)


def _require_discriminators(schema: dict[str, Any]) -> None:
    """A tagged union's tag is required in each variant: the body is refused without it,
    even where the model gives it a default (``kind: "api_key"``)."""
    components = schema["components"]["schemas"]
    for tag, variants in _discriminators(schema):
        for variant in variants:
            if "$ref" in variant:
                variant = components.get(variant["$ref"].rsplit("/", 1)[-1], {})
            if "properties" in variant and tag not in variant.get("required", []):
                variant.setdefault("required", []).append(tag)


def _discriminators(node: Any) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    if isinstance(node, list):
        for item in node:
            yield from _discriminators(item)
    elif isinstance(node, dict):
        discriminator = node.get("discriminator")
        if isinstance(discriminator, dict) and "propertyName" in discriminator:
            yield discriminator["propertyName"], node.get("oneOf", []) + node.get("anyOf", [])
        for value in node.values():
            yield from _discriminators(value)


def _names_fastapi_validation(response: dict[str, Any]) -> bool:
    return any(
        "HTTPValidationError" in str(media.get("schema", {}))
        for media in response.get("content", {}).values()
    )


def install_openapi(app: FastAPI) -> None:
    """Build the document once, on first request, with the common problems declared."""
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = original()
            complete_operations(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
