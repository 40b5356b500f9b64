"""Filings: the state machine, the dossier's edits, submission, decisions and corrections.

The logic only; no FastAPI here. Each service records its own ``filing.changed`` event
(:mod:`app.filings.events`) and only flushes: the request's session commits. The flow that
pulls from the source systems (and that crosses into consent, exchange and audit) lives in
:mod:`app.filings.flows`; the response models are built in :mod:`app.filings.views`.

Each job has its module: the states in :mod:`app.filings.states`, value helpers in
:mod:`app.filings.values`, the reads in :mod:`app.filings.reading`, opening in
:mod:`app.filings.opening`, the dossier's edits in :mod:`app.filings.dossier`, the
declare-once counts in :mod:`app.filings.counts`, submission and decision in
:mod:`app.filings.decisions`, corrections in :mod:`app.filings.corrections`, the refusals in
:mod:`app.filings.errors`; the names callers import from here are re-exported."""

from __future__ import annotations

from app.filings.corrections import OWNER_AGENCIES, request_correction, set_correction_status
from app.filings.counts import (
    DeclareOnceCounts,
    count_submission,
    declare_once_counts,
    declare_once_stats,
)
from app.filings.decisions import build_result, decide, submit
from app.filings.dossier import apply_changes, set_fields
from app.filings.errors import (
    ConfirmationRequired,
    CorrectionNotFound,
    DossierInvalid,
    FieldNotStateHeld,
    FieldVerifiedLocked,
    FilingNotFound,
    IdempotencyKeyReused,
    IllegalCorrectionTransition,
    IllegalFilingTransition,
    InvalidCitizenId,
    ProcedureNotFound,
    ProcedureNotGranted,
    ResultInvalid,
)
from app.filings.opening import check_citizen_id, open_filing
from app.filings.reading import (
    LoadedFiling,
    corrections_of_citizen,
    corrections_of_filing,
    filings_of_citizen,
    find_result,
    get_filing,
    load_filing,
    procedure_of,
    require_procedure_grant,
    result_of_filing,
)
from app.filings.states import (
    APPROVED,
    DRAFT,
    EDITABLE,
    FROM_STATE,
    PREFILLED,
    REJECTED,
    SUBMITTED,
    TRANSITIONS,
    require_editable,
    require_transition,
)
from app.filings.values import json_ready, pointer, split_pointer, subject_of

__all__ = [
    "APPROVED",
    "DRAFT",
    "EDITABLE",
    "FROM_STATE",
    "OWNER_AGENCIES",
    "PREFILLED",
    "REJECTED",
    "SUBMITTED",
    "TRANSITIONS",
    "ConfirmationRequired",
    "CorrectionNotFound",
    "DeclareOnceCounts",
    "DossierInvalid",
    "FieldNotStateHeld",
    "FieldVerifiedLocked",
    "FilingNotFound",
    "IdempotencyKeyReused",
    "IllegalCorrectionTransition",
    "IllegalFilingTransition",
    "InvalidCitizenId",
    "LoadedFiling",
    "ProcedureNotFound",
    "ProcedureNotGranted",
    "ResultInvalid",
    "apply_changes",
    "build_result",
    "check_citizen_id",
    "corrections_of_citizen",
    "corrections_of_filing",
    "count_submission",
    "decide",
    "declare_once_counts",
    "declare_once_stats",
    "filings_of_citizen",
    "find_result",
    "get_filing",
    "json_ready",
    "load_filing",
    "open_filing",
    "pointer",
    "procedure_of",
    "request_correction",
    "require_editable",
    "require_procedure_grant",
    "require_transition",
    "result_of_filing",
    "set_correction_status",
    "set_fields",
    "split_pointer",
    "subject_of",
    "submit",
]
