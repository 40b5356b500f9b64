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


def optional_officer_and_case(headers: Headers) -> tuple[str | None, str | None]:
    """The officer and the case of a request that may name them; a value that is sent must
    be usable (``InvalidHeader``, 400), as the access log's columns hold only such values."""
    officer = headers.get("x-user-id") or None
    case = headers.get("x-case-id")
    if (officer is not None and not is_header_value(officer)) or (
        case is not None and not is_header_value(case)
    ):
        raise InvalidHeader("X-User-Id and X-Case-Id must be 1 to 200 printable ASCII characters.")
    return officer, case


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
