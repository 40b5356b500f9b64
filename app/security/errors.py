"""Refusals of the security domain: who is calling, and the clients, keys and rights an
admin manages. Each keeps the title of its status, as before the codes had classes."""

from __future__ import annotations

from app.errors import Conflict, Forbidden, NotFound, Unauthenticated, Unprocessable


class InvalidApiKey(Unauthenticated):
    """The API key is malformed, unknown, revoked, or its client disabled: one answer for
    all, so that none of them tells a guesser anything."""

    code = "invalid_api_key"


class InvalidCitizenToken(Unauthenticated):
    """On a citizen route, a bearer token that is not an eID token the hub can verify."""

    code = "invalid_citizen_token"


class CitizenTokenExpired(Unauthenticated):
    """An eID token that verifies but has expired."""

    code = "citizen_token_expired"


class WrongPrincipal(Forbidden):
    """A valid credential of the other kind: a citizen token on an agency route, or an API
    key on a citizen's."""

    code = "wrong_principal"


class RoleRequired(Forbidden):
    """The client holds none of the roles the route needs."""

    code = "role_required"


class ClientExists(Conflict):
    """Another client already has that name."""

    code = "client_exists"


class ClientNotFound(NotFound):
    """No client has that id."""

    code = "client_not_found"


class KeyNotFound(NotFound):
    """The client has no key with that id."""

    code = "key_not_found"


class InvalidAccessRights(Unprocessable):
    """An access right names a record type, field or purpose the dictionary does not
    have; `errors[]` lists each."""

    code = "invalid_access_rights"


class InvalidProcedureGrants(Unprocessable):
    """A procedure grant names a procedure the catalogue does not have; `errors[]` lists
    each."""

    code = "invalid_procedure_grants"
