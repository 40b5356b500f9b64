"""Refusals of the security domain: who is calling, and the clients, keys and rights an
admin manages. Each keeps the title of its status, as before the codes had classes."""

from __future__ import annotations

from app.errors import Conflict, Forbidden, NotFound, Unauthenticated, Unprocessable


class InvalidApiKey(Unauthenticated):
    code = "invalid_api_key"


class InvalidCitizenToken(Unauthenticated):
    code = "invalid_citizen_token"


class CitizenTokenExpired(Unauthenticated):
    code = "citizen_token_expired"


class WrongPrincipal(Forbidden):
    """A valid credential of the other kind: a citizen token on an agency route, or an API
    key on a citizen's."""

    code = "wrong_principal"


class RoleRequired(Forbidden):
    code = "role_required"


class ClientExists(Conflict):
    code = "client_exists"


class ClientNotFound(NotFound):
    code = "client_not_found"


class KeyNotFound(NotFound):
    code = "key_not_found"


class InvalidAccessRights(Unprocessable):
    code = "invalid_access_rights"


class InvalidProcedureGrants(Unprocessable):
    code = "invalid_procedure_grants"
