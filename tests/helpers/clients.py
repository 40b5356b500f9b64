"""API clients made for a test: their credentials, and the type of the fixture that makes them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class ApiCredentials:
    client_id: str
    api_key: str
    roles: tuple[str, ...]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}


MakeClient = Callable[..., Awaitable[ApiCredentials]]
