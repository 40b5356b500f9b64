"""The caller-supplied context headers every domain reads: ``X-User-Id`` (the officer) and
``X-Case-Id``. One rule for what a usable value is, so the data path, filings and the access
log agree, and the log never receives a value its columns cannot hold."""

from __future__ import annotations

import re

from starlette.datastructures import Headers

# Printable ASCII, at most the width of the access log's officer and case columns.
_HEADER_VALUE = re.compile(r"[\x20-\x7e]{1,200}")


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
