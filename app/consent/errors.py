"""Refusals of the consent domain."""

from __future__ import annotations

from app.errors import Forbidden


class ConsentApprovalInvalid(Forbidden):
    """A citizen-signed approval that does not approve this consent; nothing is recorded."""

    status, code, title = 403, "consent_approval_invalid", "Consent approval invalid"
