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


# The refusals of a pull's basis (app.consent.basis decides it).


class NoBasis(Forbidden):
    status, code, title = 403, "no_basis", "No legal basis or consent"


class ConsentRefused(Forbidden):
    """A consent of the subject exists but does not allow this pull; ``code`` says why."""

    status, code, title = 403, "consent_refused", "Consent does not allow this pull"


class ConsentRevoked(ConsentRefused):
    code, title = "consent_revoked", "Consent revoked"


class ConsentExpired(ConsentRefused):
    code, title = "consent_expired", "Consent expired"


class ConsentExhausted(ConsentRefused):
    code, title = "consent_exhausted", "Consent use limit reached"


class ConsentScope(ConsentRefused):
    code, title = "consent_scope", "Outside the consent's scope"


class ConsentPurposeMismatch(ConsentRefused):
    code, title = "consent_purpose_mismatch", "Consent given for another purpose"


class ConsentNotActive(ConsentRefused):
    code, title = "consent_not_active", "Consent not active"
