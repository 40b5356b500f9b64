"""The route class every router uses: a body is accepted only in a media type the route
declares, and a JSON body is parsed once, with the edge's checks (``app.inputs``).

Install it with ``APIRouter(..., route_class=HubRoute)``. A route declares its body either
as a pydantic parameter (JSON) or in ``openapi_extra["requestBody"]["content"]`` (a route
that reads ``request.body()`` or ``request.stream()`` itself); a route that declares no
body ignores one.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from app.errors import UnsupportedMediaType
from app.inputs import parse_json

LARGE_BODY: dict[str, Any] = {"x-body-limit": "batch"}
"""``openapi_extra`` of a route that accepts a body up to ``max_batch_body_bytes`` from an
authenticated caller (``app.middleware`` reads it on the matched route)."""

NDJSON_TYPES = frozenset({"application/x-ndjson", "application/ndjson", "application/jsonl"})


class HubRequest(Request):
    """A request whose ``json()`` is the hub's checked parse (``app.inputs.parse_json``)."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = parse_json(await self.body())
        return self._json


class HubRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        accepted = _declared_media_types(self)
        if accepted is None:
            return handler
        # A pydantic body is parsed here, so a refusal is the hub's problem and FastAPI's own
        # parse finds the value cached; a route reading the body itself parses it itself.
        parse = self.body_field is not None

        async def checked(request: Request) -> Response:
            request = HubRequest(request.scope, request.receive)
            if _has_body(request):
                media_type = media_type_of(request)
                if not _accepts(accepted, media_type):
                    raise UnsupportedMediaType(
                        f"This endpoint takes {' or '.join(sorted(accepted))}, "
                        f"not {media_type or 'a body without a Content-Type'}.",
                        extra={"accepted": sorted(accepted)},
                    )
                if parse:
                    await request.json()
            return await handler(request)

        return checked


def media_type_of(request: Request) -> str:
    """The request's ``Content-Type`` without parameters, lower case; empty when absent."""
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def _declared_media_types(route: APIRoute) -> frozenset[str] | None:
    if route.body_field is not None:
        return frozenset({"application/json"})
    content = ((route.openapi_extra or {}).get("requestBody") or {}).get("content")
    if not content:
        return None
    declared = frozenset(content)
    return declared | NDJSON_TYPES if declared & NDJSON_TYPES else declared


def _accepts(accepted: frozenset[str], media_type: str) -> bool:
    if media_type in accepted:
        return True
    # application/merge-patch+json and the like are JSON too.
    return "application/json" in accepted and (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def _has_body(request: Request) -> bool:
    length = request.headers.get("content-length")
    if length is not None:
        return length.strip() not in ("", "0")
    return "transfer-encoding" in request.headers
