"""Typed permission dependencies: a route's signature says who may call it.

Every route must carry exactly one access rule: a role dependency (``AdminClient``,
``ConsumerClient`` ...), ``AnyClient``, a citizen dependency, or the ``PUBLIC`` marker.
``tests/security/test_route_access.py`` walks the OpenAPI document and fails on a route
without one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, NoReturn

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.errors import Unauthenticated
from app.hub import hub_of
from app.security.citizen import CitizenPrincipal
from app.security.errors import InvalidCitizenToken, RoleRequired, WrongPrincipal
from app.security.roles import ClientPrincipal, Role

bearer_scheme = HTTPBearer(
    auto_error=False,
    description="An API key (`doh_...`) for agency systems, or a citizen's eID token.",
)

BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)]


def bearer_token(credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is None or not credentials.credentials:
        raise Unauthenticated(
            "Send `Authorization: Bearer <api key>`.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return credentials.credentials


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2 and not token.startswith("doh_")


class AccessRule:
    """Marker carried by every access dependency, read by the route-access test."""

    def __init__(self, kind: str, roles: frozenset[str] = frozenset()) -> None:
        self.kind = kind
        self.roles = roles


def refuse_citizen_token(request: Request, token: str) -> NoReturn:
    """A JWT on an agency route: 403 if it is a citizen's valid eID token, else 401.

    Only a credential the hub can verify says who is calling; anything else is no
    credential at all."""
    try:
        hub_of(request.app).citizen_verifier.verify(token)
    except Unauthenticated:
        raise Unauthenticated(
            "This endpoint needs an API key; the bearer token is not a valid one.",
            headers={"WWW-Authenticate": "Bearer"},
        ) from None
    raise WrongPrincipal("This endpoint is for agency systems; a citizen token cannot call it.")


async def refuse_api_key(request: Request, token: str) -> NoReturn:
    """Not a JWT on a citizen route: 403 if it is a valid API key, else 401."""
    try:
        await hub_of(request.app).authenticator.authenticate(token)
    except Unauthenticated:
        raise InvalidCitizenToken(
            "This endpoint needs your eID token; the bearer token is not a valid one.",
            headers={"WWW-Authenticate": "Bearer"},
        ) from None
    raise WrongPrincipal("This endpoint is for citizens; send your eID token, not an API key.")


def require_roles(*roles: Role) -> Callable[[Request, BearerDep], Awaitable[ClientPrincipal]]:
    wanted = frozenset(r.value for r in roles)

    async def dependency(request: Request, credentials: BearerDep) -> ClientPrincipal:
        token = bearer_token(credentials)
        if looks_like_jwt(token):
            refuse_citizen_token(request, token)
        principal = await hub_of(request.app).authenticator.authenticate(token)
        if wanted and not principal.has_any(wanted):
            raise RoleRequired(f"This endpoint needs the role {' or '.join(sorted(wanted))}.")
        # The body limit of a large-body route reads it (app/middleware.py): a body over the
        # ordinary limit is read only from a verified caller.
        request.state.principal = principal
        return principal

    dependency.access_rule = AccessRule("client", wanted)  # type: ignore[attr-defined]
    return dependency


async def require_citizen(request: Request, credentials: BearerDep) -> CitizenPrincipal:
    token = bearer_token(credentials)
    if not looks_like_jwt(token):
        await refuse_api_key(request, token)
    citizen = hub_of(request.app).citizen_verifier.verify(token)
    request.state.citizen = citizen  # read by the body limit, as the principal above
    return citizen


require_citizen.access_rule = AccessRule("citizen")  # type: ignore[attr-defined]


async def public_route() -> None:
    """Marks a route as open to anyone (it must still never expose personal data)."""


public_route.access_rule = AccessRule("public")  # type: ignore[attr-defined]

PUBLIC = Depends(public_route)

AdminClient = Annotated[ClientPrincipal, Depends(require_roles(Role.admin))]
ConsumerClient = Annotated[ClientPrincipal, Depends(require_roles(Role.consumer))]
IntegratorClient = Annotated[ClientPrincipal, Depends(require_roles(Role.integrator))]
AuditorClient = Annotated[ClientPrincipal, Depends(require_roles(Role.auditor))]
AnyClient = Annotated[ClientPrincipal, Depends(require_roles(*Role))]
CitizenDep = Annotated[CitizenPrincipal, Depends(require_citizen)]
