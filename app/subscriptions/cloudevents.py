"""The CloudEvents 1.0 envelope (JSON format) of one change, as subscribers receive it.

The payload is thin: which record changed and which fields, never the values. The subscriber
pulls the values through the data path (``data.pull``), so every disclosure is in the access
log with its purpose.
"""

from __future__ import annotations

from typing import Any

from app.changes.models import ChangeEvent
from app.timestamps import as_utc

SPEC_VERSION = "1.0"


def event_type(system: str, record_type: str, operation: str) -> str:
    """``vn.gov.<system>.<record type in lower case>.<operation>``."""
    return f"vn.gov.{system}.{record_type.lower()}.{operation}"


def envelope(change: ChangeEvent, base_url: str, fields: list[str]) -> dict[str, Any]:
    """The event of ``change``; ``fields`` are the changed fields the subscriber is told of
    (those its access right covers)."""
    time = as_utc(change.registered_at or change.ingested_at)
    base = base_url.rstrip("/")
    return {
        "specversion": SPEC_VERSION,
        "id": str(change.seq),
        "source": f"urn:vn:declare-once:{change.system}",
        "type": event_type(change.system, change.record_type, change.operation),
        "subject": change.subject_id,
        "time": time.isoformat().replace("+00:00", "Z"),
        "datacontenttype": "application/json",
        "dataschema": (
            f"{base}/v1/dictionary/records/{change.record_type}"
            f"/versions/{change.dictionary_version}"
        ),
        "data": {
            "record_type": change.record_type,
            "operation": change.operation,
            "changed_fields": fields,
            "source_sequence": change.source_seq,
            "source_reference": change.source_reference,
            "record_version": change.record_version,
            "effective_on": change.effective_on.isoformat() if change.effective_on else None,
            "pull": f"/v1/records/{change.record_type}/{change.subject_id}",
        },
    }
