"""Refusals of the filings domain."""

from __future__ import annotations

from app.errors import Conflict, Forbidden, NotFound, Unprocessable


class ProcedureNotGranted(Forbidden):
    """The client's agency does not handle this procedure (no procedure grant)."""

    status, code, title = 403, "procedure_not_granted", "Procedure not granted"


class FilingNotFound(NotFound):
    status, code, title = 404, "filing_not_found", "Filing not found"


class ProcedureNotFound(NotFound):
    status, code, title = 404, "unknown_procedure", "Unknown procedure"


class IllegalFilingTransition(Conflict):
    status, code, title = 409, "illegal_filing_transition", "Illegal filing transition"


class FieldVerifiedLocked(Conflict):
    status, code, title = 409, "field_verified_locked", "Verified field is locked"


class FieldDerived(Conflict):
    """The field is derived from another value of the dossier (or from the applicant):
    set its source instead."""

    status, code, title = 409, "field_derived", "Field is derived"


class ConfirmationRequired(Unprocessable):
    status, code, title = 422, "confirmation_required", "Confirmation required"


class DossierInvalid(Unprocessable):
    status, code, title = 422, "dossier_invalid", "Dossier invalid"


class IdempotencyKeyReused(Unprocessable):
    status, code, title = 422, "idempotency_key_reused", "Idempotency key reused"


class ResultInvalid(Unprocessable):
    status, code, title = 422, "result_invalid", "Result record invalid"


class InvalidCitizenId(Unprocessable):
    status, code, title = 422, "invalid_citizen_id", "Invalid citizen ID"


class FieldNotStateHeld(Unprocessable):
    status, code, title = 422, "field_not_state_held", "Field is not state-held"


class CorrectionNotFound(NotFound):
    code = "correction_not_found"


class IllegalCorrectionTransition(Conflict):
    code = "illegal_correction_transition"
