"""Response classes shared by every domain."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse, StreamingResponse
from starlette.types import Receive, Scope, Send


def dumps(content: Any) -> bytes:
    return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)


class FastJSONResponse(JSONResponse):
    """JSON rendered with orjson: dates, datetimes, UUIDs and dataclasses without ceremony.

    A ``JSONResponse`` so that FastAPI documents a route's response model when the route
    returns one of these directly (the hot data path does, to skip model validation).
    """

    def render(self, content: Any) -> bytes:
        return dumps(content)


class ProblemResponse(FastJSONResponse):
    media_type = "application/problem+json"


class DuplexStreamingResponse(StreamingResponse):
    """A streamed answer whose body iterator still reads the request body as it goes.

    Below ASGI spec 2.4 Starlette listens for a disconnect by calling ``receive()`` while it
    streams; that listener would swallow the request-body messages the iterator waits for,
    and both sides would stall. Here the iterator is the only reader of ``receive()``, and
    it sees a disconnect itself (``request.stream()`` raises ``ClientDisconnect``).
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.stream_response(send)
        if self.background is not None:
            await self.background()
