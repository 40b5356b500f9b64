"""Response classes shared by every domain."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response


def dumps(content: Any) -> bytes:
    return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)


class FastJSONResponse(Response):
    """JSON rendered with orjson: dates, datetimes, UUIDs and dataclasses without ceremony."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return dumps(content)


class ProblemResponse(FastJSONResponse):
    media_type = "application/problem+json"
