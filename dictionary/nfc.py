"""Strings are validated in NFC: normalise a record, and tell cheaply whether it needs it."""

from __future__ import annotations

import unicodedata
from typing import Any


def _needs_nfc(value: object) -> bool:
    if type(value) is str:
        return not value.isascii() and not unicodedata.is_normalized("NFC", value)
    if type(value) is dict:
        return any(_needs_nfc(k) or _needs_nfc(v) for k, v in value.items())
    if type(value) is list:
        return any(_needs_nfc(v) for v in value)
    return False


def nfc_record(value: Any) -> Any:
    """A copy of ``value`` with every string (keys included) in NFC; unchanged parts shared."""
    if type(value) is str:
        if value.isascii() or unicodedata.is_normalized("NFC", value):
            return value
        return unicodedata.normalize("NFC", value)
    if type(value) is dict:
        return {nfc_record(k): nfc_record(v) for k, v in value.items()}
    if type(value) is list:
        return [nfc_record(v) for v in value]
    return value
