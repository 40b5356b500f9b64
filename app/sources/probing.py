"""The probe of a connector: reachability, auth and one sample fetch per record type."""

from __future__ import annotations

import time
import uuid
from typing import Any

from app.audit.service import mask_citizen_id
from app.sources.runtime import LiveConnector
from app.timestamps import utcnow
from connectors.base import ProbeStep
from connectors.errors import ConnectorError
from connectors.mapping import CompiledWrite, NotEncodable

PROBE_SUBJECTS = 4


async def probe(live: LiveConnector, subject: str | None) -> dict[str, Any]:
    """Reachability, auth and one sample fetch validated end to end, per record type. A
    subject without a record of some type (not everyone is married) is not a failure: the
    probe tries a few listed subjects, and reports the step skipped if none has one. The
    report shows sample subjects masked, never in clear."""
    steps: list[dict[str, Any]] = []
    candidates: list[str] = [subject] if subject else []
    sampled = False
    for record_type, mapping in sorted(live.mappings.items()):
        report = await live.http.probe(mapping, candidates[0] if candidates else None)
        if report.sample_subject and report.sample_subject not in candidates:
            candidates.append(report.sample_subject)
        sample = next((s for s in report.steps if s.step == "sample"), None)
        if sample is not None and sample.code == "subject_not_found":
            if len(candidates) < PROBE_SUBJECTS:
                candidates.extend(await _more_subjects(live, candidates))
            for other in candidates[1:PROBE_SUBJECTS]:
                retry = await live.http.probe(mapping, other)
                if retry.ok:
                    report = retry
                    break
            else:
                skipped = ProbeStep(
                    "sample",
                    "skipped",
                    "reachable, but none of the sampled subjects has this record",
                    code="no_sample_record",
                    record_type=record_type,
                )
                steps.extend(s.as_dict() for s in report.steps if s.step != "sample")
                steps.append(skipped.as_dict())
                continue
        sampled = sampled or report.ok
        steps.extend(s.as_dict() for s in report.steps)
    read_ok = sampled and all(s["ok"] for s in steps)
    for mapping in live.mappings.values():
        for write in mapping.writes:
            steps.append((await _probe_write(live, write)).as_dict())
    return {
        "ok": read_ok,
        "checked_at": utcnow().isoformat(),
        "sample_subjects": [mask_citizen_id(c) for c in candidates[:PROBE_SUBJECTS]],
        "steps": steps,
    }


async def _probe_write(live: LiveConnector, write: CompiledWrite) -> ProbeStep:
    """A dry run of one write, with the dictionary's example record: the source must answer
    in its own terms (accepted, or refused with a reason the mapping can read). A failed
    write step does not disable the connector's reads; deliveries to it would fail."""
    name = f"write {write.record_type}"
    if write.request.dry_run_param is None or write.example is None:
        return ProbeStep(
            "write",
            "skipped",
            f"{name}: the source offers no dry run" if write.example else f"{name}: no example",
            record_type=write.record_type,
        )
    document = {"record": write.example, "replaces": write.example}
    started = time.perf_counter()
    try:
        request = write.request.build(document, f"probe-{uuid.uuid4()}", dry_run=True)
        answer = await live.write(request)
    except NotEncodable as exc:
        return ProbeStep("write", "failed", f"{name}: {exc}", record_type=write.record_type)
    except ConnectorError as exc:
        return ProbeStep(
            "write",
            "failed",
            f"{name}: {exc.detail}",
            code=exc.code,
            kind=exc.kind,
            record_type=write.record_type,
        )
    elapsed = (time.perf_counter() - started) * 1000
    reason = write.request.reason(answer.body)
    if 200 <= answer.status < 300:
        return ProbeStep(
            "write",
            "ok",
            f"{name}: the dry run was accepted",
            elapsed,
            record_type=write.record_type,
        )
    if answer.status < 500 and answer.status != 405 and reason is not None:
        return ProbeStep(
            "write",
            "ok",
            f"{name}: the source checked the example and answered {answer.status} in its own "
            "terms (the example is not one of its records)",
            elapsed,
            record_type=write.record_type,
        )
    return ProbeStep(
        "write",
        "failed",
        f"{name}: the dry run answered HTTP {answer.status}, not in the mapping's terms",
        elapsed,
        record_type=write.record_type,
    )


async def _more_subjects(live: LiveConnector, have: list[str]) -> list[str]:
    lister = next((m for m in live.mappings.values() if m.listing is not None), None)
    if lister is None:
        return []
    try:
        listed = await live.http.list_subjects(lister, PROBE_SUBJECTS + len(have))
    except Exception:
        return []
    return [s for s in listed if s not in have]
