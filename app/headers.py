"""The caller-supplied context headers every domain reads: ``X-User-Id`` (the officer) and
``X-Case-Id``. One rule for what a usable value is, so the data path, filings and the access
log agree, and the log never receives a value its columns cannot hold; and the two refusals
a route that requires them answers."""

from __future__ import annotations

import re

from starlette.datastructures import Headers

from app.errors import BadRequest

# Printable ASCII, at most the width of the access log's officer and case columns.
_HEADER_VALUE = re.compile(r"[\x20-\x7e]{1,200}")


class MissingUserId(BadRequest):
    status, code, title = 400, "missing_user_id", "X-User-Id is required"


class InvalidHeader(BadRequest):
    status, code, title = 400, "invalid_header", "Invalid header"


def is_header_value(value: str) -> bool:
    return _HEADER_VALUE.fullmatch(value) is not None


def officer_and_case(headers: Headers) -> tuple[str | None, str | None]:
    """The officer and case ids to record for a request, each None when absent or unusable.

    For routes that do not require them (administrative actions, auditor queries): an
    unusable value is left out of the record rather than failing the request's audit event.
    """
    officer = headers.get("x-user-id")
    case = headers.get("x-case-id")
    return (
        officer if officer is not None and is_header_value(officer) else None,
        case if case is not None and is_header_value(case) else None,
    )


def required_officer_and_case(headers: Headers, action: str) -> tuple[str, str | None]:
    """The officer (required) and the case (optional) of a request that acts for an officer;
    ``action`` completes "the officer on whose behalf ...". Raises ``MissingUserId`` or
    ``InvalidHeader`` (400)."""
    officer = headers.get("x-user-id")
    case = headers.get("x-case-id")
    if not officer:
        raise MissingUserId(f"Send X-User-Id: the officer on whose behalf {action}.")
    if not is_header_value(officer) or (case is not None and not is_header_value(case)):
        raise InvalidHeader("X-User-Id and X-Case-Id must be 1 to 200 printable ASCII characters.")
    return officer, case
