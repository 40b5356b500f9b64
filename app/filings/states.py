"""A filing's states and the transitions between them."""

from __future__ import annotations

from app.filings.errors import IllegalFilingTransition
from app.filings.models import Filing

DRAFT, PREFILLED, SUBMITTED, APPROVED, REJECTED = (
    "draft",
    "prefilled",
    "submitted",
    "approved",
    "rejected",
)
# Prefill may run again while the dossier is still being prepared (a source that was down).
TRANSITIONS: dict[str, frozenset[str]] = {
    DRAFT: frozenset({PREFILLED}),
    PREFILLED: frozenset({PREFILLED, SUBMITTED}),
    SUBMITTED: frozenset({APPROVED, REJECTED}),
    APPROVED: frozenset(),
    REJECTED: frozenset(),
}
EDITABLE = frozenset({DRAFT, PREFILLED})
FROM_STATE = frozenset({"prefilled", "reused"})


def require_transition(filing: Filing, target: str) -> None:
    if target not in TRANSITIONS[filing.status]:
        raise IllegalFilingTransition(
            f"A {filing.status} filing cannot become {target}.",
            extra={"status": filing.status, "target": target},
        )


def require_editable(filing: Filing) -> None:
    if filing.status not in EDITABLE:
        raise IllegalFilingTransition(
            f"A {filing.status} filing can no longer be changed.",
            extra={"status": filing.status, "target": filing.status},
        )
