"""Who is acting: one frozen :class:`Actor` per request, and the one way an event is recorded.

Every route that changes or discloses something takes an ``Actor`` from one of the
dependencies below; its signature then says both who may call it and whether an officer
must be named:

- ``ConsumerOfficer``: a consumer client acting for the officer in ``X-User-Id`` (required);
- ``ConsumerActor``, ``AdminActor``, ``IntegratorActor``, ``AuditorActor``, ``ClientActor``:
  the officer is optional, and a value that is sent must still be usable;
- ``CitizenActor``: a citizen with their eID token.

An audit event is built from the actor (:meth:`Actor.entry`) and appended with
:func:`record`; nothing else reads ``X-User-Id``, ``X-Case-Id`` or the request id.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, get_args

from fastapi import Depends, Header, Request

from app.errors import request_id_of
from app.events import AuditEntry, AuditSink, Outcome
from app.headers import optional_officer_and_case, required_officer_and_case
from app.openapi import PRINTABLE_HEADER_PATTERN, required_in_docs
from app.security.citizen import CitizenPrincipal
from app.security.deps import (
    AdminClient,
    AnyClient,
    AuditorClient,
    CitizenDep,
    ConsumerClient,
    IntegratorClient,
)
from app.security.roles import ClientPrincipal


@dataclass(frozen=True, slots=True)
class Actor:
    """The caller (an agency client or a citizen), the officer and case it names, and the
    request id the access log ties its events to."""

    principal: ClientPrincipal | CitizenPrincipal
    officer_id: str | None
    case_id: str | None
    request_id: str | None

    @property
    def client(self) -> ClientPrincipal:
        """The agency client; only for routes whose dependency admits clients alone."""
        if not isinstance(self.principal, ClientPrincipal):
            raise TypeError("this actor is a citizen, not an agency client")
        return self.principal

    @property
    def client_id(self) -> str | None:
        return self.principal.client_id if isinstance(self.principal, ClientPrincipal) else None

    @property
    def agency(self) -> str | None:
        return self.principal.agency if isinstance(self.principal, ClientPrincipal) else None

    def entry(self, kind: str, outcome: str = Outcome.OK, **fields: Any) -> AuditEntry:
        """An access-log event of this actor. ``fields`` are the event's other columns; they
        may override the envelope (a citizen's action on a consent is logged under the
        consent's client, for instance)."""
        envelope: dict[str, Any] = {
            "client_id": self.client_id,
            "agency": self.agency,
            "officer_id": self.officer_id,
            "case_id": self.case_id,
            "request_id": self.request_id,
        }
        return AuditEntry(kind=kind, outcome=outcome, **{**envelope, **fields})


async def record(
    audit: AuditSink, actor: Actor, kind: str, outcome: str = Outcome.OK, **fields: Any
) -> int:
    """Append one event of ``actor``; it is durable before this returns, or this raises
    ``AuditUnavailable`` (503). Returns the event's sequence number."""
    return await audit.append(actor.entry(kind, outcome, **fields))


# The headers as documented on every route that names an officer. They are read from the
# request, so every dependency below applies the same rule to them.
_OFFICER_REQUIRED = Header(
    alias="x-user-id",
    description="The officer on whose behalf the request is made (required).",
    json_schema_extra=required_in_docs(pattern=PRINTABLE_HEADER_PATTERN),
)
_OFFICER_OPTIONAL = Header(
    alias="x-user-id",
    description="The officer on whose behalf the request is made, if any.",
    json_schema_extra={"pattern": PRINTABLE_HEADER_PATTERN},
)
_CASE = Header(
    alias="x-case-id",
    description="The agency's case number, if any.",
    json_schema_extra={"pattern": PRINTABLE_HEADER_PATTERN},
)
OfficerHeader = Annotated[str | None, _OFFICER_REQUIRED]
OptionalOfficerHeader = Annotated[str | None, _OFFICER_OPTIONAL]
CaseHeader = Annotated[str | None, _CASE]


def officer_actor(request: Request, principal: ClientPrincipal) -> Actor:
    """An actor whose officer is required: ``missing_user_id`` or ``invalid_header`` (400)."""
    officer, case = required_officer_and_case(request.headers, "the request is made")
    return Actor(principal, officer, case, request_id_of(request))


def optional_officer_actor(request: Request, principal: ClientPrincipal) -> Actor:
    """An actor whose officer and case are optional; a value that is sent must be usable
    (``invalid_header``, 400), as the access log's columns hold only such values."""
    officer, case = optional_officer_and_case(request.headers)
    return Actor(principal, officer, case, request_id_of(request))


async def _consumer_officer(
    request: Request,
    principal: ConsumerClient,
    x_user_id: OfficerHeader = None,
    x_case_id: CaseHeader = None,
) -> Actor:
    return officer_actor(request, principal)


def _optional_officer(role: Any) -> Callable[..., Awaitable[Actor]]:
    """The dependency of an actor with an optional officer; ``role`` is the ``Depends(...)``
    of a role alias of app/security/deps.py, so the route's access rule is that role's."""

    async def dependency(
        request: Request,
        principal: ClientPrincipal = role,
        x_user_id: OptionalOfficerHeader = None,
        x_case_id: CaseHeader = None,
    ) -> Actor:
        return optional_officer_actor(request, principal)

    return dependency


def _role(client: Any) -> Any:
    """The ``Depends(...)`` inside a role alias such as ``AdminClient``."""
    return get_args(client)[1]


async def _citizen(request: Request, citizen: CitizenDep) -> Actor:
    return Actor(citizen, None, None, request_id_of(request))


ConsumerOfficer = Annotated[Actor, Depends(_consumer_officer)]
ConsumerActor = Annotated[Actor, Depends(_optional_officer(_role(ConsumerClient)))]
AdminActor = Annotated[Actor, Depends(_optional_officer(_role(AdminClient)))]
IntegratorActor = Annotated[Actor, Depends(_optional_officer(_role(IntegratorClient)))]
AuditorActor = Annotated[Actor, Depends(_optional_officer(_role(AuditorClient)))]
ClientActor = Annotated[Actor, Depends(_optional_officer(_role(AnyClient)))]
CitizenActor = Annotated[Actor, Depends(_citizen)]
