"""Verifying the access log: a pure function over events, seals and public keys.

The verifier recomputes every leaf hash, every batch root, every seal hash and signature and
every chain link, and reports each problem with a stable code and where it is: the event's
``seq`` (its id), its ``leaf_index`` (its position in the chain) and the ``seal_index``.
Readers feed it from the database (``verify_database``, streaming seal by seal) or from a
JSONL export (``verify_jsonl``); ``export_lines`` writes that JSONL. docs/audit.md describes the
same algorithm for independent verifiers.

- ``model``: problem codes, events and seals as the verifier sees them, anchors, the report;
- ``verifier``: the pure ``Verifier``;
- ``jsonl``: the JSONL export's reader (``verify_jsonl``);
- ``stored``: the typed database reader; ``raw``: the fast one (raw driver rows);
- ``database``: ``verify_database``, over either reader;
- ``export``: the JSONL export's writer (``export_lines``).
"""

from app.audit.verify.database import verify_database
from app.audit.verify.export import export_lines
from app.audit.verify.jsonl import JsonlLog, verify_jsonl
from app.audit.verify.model import (
    PINNED_HEAD_PATTERN,
    SEAL_COLUMNS,
    Anchor,
    Code,
    EventItem,
    PinnedHead,
    Problem,
    Report,
    SealItem,
    archive_anchor_record,
)
from app.audit.verify.raw import _RawReader
from app.audit.verify.stored import (
    database_anchor,
    seal_mapping,
    stored_batches,
    trailing_events,
)
from app.audit.verify.verifier import Verifier

__all__ = [
    "PINNED_HEAD_PATTERN",
    "SEAL_COLUMNS",
    "Anchor",
    "Code",
    "EventItem",
    "JsonlLog",
    "PinnedHead",
    "Problem",
    "Report",
    "SealItem",
    "Verifier",
    "_RawReader",
    "archive_anchor_record",
    "database_anchor",
    "export_lines",
    "seal_mapping",
    "stored_batches",
    "trailing_events",
    "verify_database",
    "verify_jsonl",
]
