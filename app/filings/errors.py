"""Refusals of the filings domain that are not about one filing's state."""

from __future__ import annotations

from app.errors import Forbidden


class ProcedureNotGranted(Forbidden):
    """The client's agency does not handle this procedure (no procedure grant)."""

    status, code, title = 403, "procedure_not_granted", "Procedure not granted"
