"""What a connector gives back: a source record, and the steps of a probe."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

# ---------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """One record from a source, mapped and validated against ``record_type`` ``version``."""

    data: dict[str, Any]
    raw_reference: str
    last_updated: datetime | None
    retrieved_at: datetime
    record_type: str = ""
    version: str = ""

    @property
    def source_reference(self) -> str:
        return self.raw_reference


@dataclass(frozen=True, slots=True)
class ProbeStep:
    """One step of a probe, named as the connectors API reports it (``as_dict``)."""

    step: str  # reachability | auth | sample | write
    status: Literal["ok", "failed", "skipped"]
    detail: str
    elapsed_ms: float = 0.0
    code: str | None = None  # the error code when failed, or why a step was skipped
    kind: str | None = None  # the error kind when failed
    record_type: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def as_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            # Skipped is not a failure.
            "ok": self.status != "failed",
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
            "kind": self.kind,
            "record_type": self.record_type,
            "elapsed_ms": round(self.elapsed_ms, 2),
        }


@dataclass(frozen=True, slots=True)
class ProbeReport:
    """Reachability, auth and one sample fetch validated end to end; ``ok`` when the
    sample fetch succeeded and no step failed."""

    system: str
    record_type: str
    steps: tuple[ProbeStep, ...]
    sample_subject: str | None
    checked_at: datetime

    @property
    def ok(self) -> bool:
        return all(s.status != "failed" for s in self.steps) and any(
            s.step == "sample" and s.ok for s in self.steps
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "system": self.system,
            "record_type": self.record_type,
            "sample_subject": self.sample_subject,
            "checked_at": self.checked_at.isoformat(),
            "steps": [s.as_dict() for s in self.steps],
        }
