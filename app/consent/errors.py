"""Refusals of the consent domain."""

from __future__ import annotations

from app.errors import Conflict, Forbidden, NotFound, Unprocessable


class ConsentApprovalInvalid(Forbidden):
    """A citizen-signed approval that does not approve this consent; nothing is recorded."""

    status, code, title = 403, "consent_approval_invalid", "Consent approval invalid"


class ConsentNotFound(NotFound):
    code, title = "consent_not_found", "Consent not found"


class IllegalConsentTransition(Conflict):
    code, title = "illegal_consent_transition", "Illegal consent transition"


class InvalidConsent(Unprocessable):
    """Every problem of a consent to record, listed in ``errors``."""

    code = "invalid_consent"


class ReceiptUnavailable(Conflict):
    """Only a consent that was once ACTIVE has a receipt."""

    code = "receipt_unavailable"
