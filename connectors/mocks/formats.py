"""Small rendering helpers shared by the mocks' legacy formats."""

from __future__ import annotations

from datetime import date

from connectors.mocks.dataset import stable_hash


def dmy(day: date, sep: str = "/") -> str:
    """dd/mm/yyyy, the way Vietnamese registers write dates."""
    return f"{day.day:02d}{sep}{day.month:02d}{sep}{day.year:04d}"


def decimal_comma(value: float) -> str:
    """1234.5 -> "1234,5" (Vietnamese decimal comma, no thousands separator)."""
    return f"{value:.1f}".replace(".", ",")


def reference(prefix: str, seed: int, *parts: int) -> str:
    """An opaque, stable record reference such as ``KS-3F9A0C12D4``."""
    salt = int.from_bytes(prefix.encode(), "big")
    return f"{prefix}-{stable_hash(seed, salt, *parts) % 16**10:010X}"
