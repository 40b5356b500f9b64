"""Proofs and verification of the access log: inclusion proofs, the stored log's verification
and the published sealing keys. The auditor's search and export live in ``router.py``."""

from __future__ import annotations

import base64
from typing import Annotated

from fastapi import APIRouter, Path, Query
from sqlalchemy import select

from app.audit.errors import NotSealedYet
from app.audit.keys import key_document, published_keys, published_public_keys
from app.audit.merkle import inclusion_path
from app.audit.models import AuditEvent, AuditSeal
from app.audit.router import record_query
from app.audit.schemas import EventProof, InclusionProof, SealingKeys, VerifyReport
from app.audit.serialize import EVENT_COLUMNS, canonical_json, event_record, seal_record
from app.audit.verify import PINNED_HEAD_PATTERN, PinnedHead, seal_mapping, verify_database
from app.deps import SessionDep
from app.errors import NotFound, problem_responses
from app.hub import HubDep
from app.routing import HubRoute
from app.security.actor import AuditorActor
from app.security.deps import PUBLIC

router = APIRouter(prefix="/v1/audit", tags=["audit"], route_class=HubRoute)


MAX_BIGINT = 2**63 - 1  # event ids are BIGINT


@router.get(
    "/events/{event_id}/proof",
    summary="Inclusion proof of an event",
    responses=problem_responses(400, 401, 403, 404, 409),
)
async def event_proof(
    event_id: Annotated[int, Path(ge=1, le=MAX_BIGINT, description="The event's id (seq).")],
    hub: HubDep,
    auditor: AuditorActor,
    session: SessionDep,
) -> EventProof:
    """The event, its RFC 9162 audit path within its batch and the signed seal of that batch.

    Check it with only the public key: hash the event to its leaf, fold the audit path to the
    batch root, compare with the seal's ``root`` and verify the seal's signature
    (docs/audit.md). An event not sealed yet is a 409 ``not_sealed_yet``; retry in a second."""
    await record_query(hub, auditor, "proof", {"seq": event_id})
    event = await session.get(AuditEvent, event_id)
    if event is None:
        raise NotFound(f"No audit event {event_id}.")
    if event.leaf_index is None:
        raise NotSealedYet(
            f"Event {event_id} is not sealed yet; seals follow within seconds.",
            headers={"Retry-After": "1"},
        )
    seal = await session.scalar(
        select(AuditSeal)
        .where(AuditSeal.leaf_start <= event.leaf_index)
        .order_by(AuditSeal.seal_index.desc())
        .limit(1)
    )
    if seal is None or event.leaf_index >= seal.leaf_start + seal.leaf_count:
        raise NotFound(f"The seal of event {event_id} is missing (archived or deleted).")
    leaves = bytes(seal.leaf_hashes)
    hashes = [leaves[i : i + 32] for i in range(0, len(leaves), 32)]
    index = event.leaf_index - seal.leaf_start
    record = event_record({c: getattr(event, c) for c in EVENT_COLUMNS})
    return EventProof(
        event={**record, "leaf_index": event.leaf_index},
        leaf_hash=hashes[index].hex(),
        leaf_bytes_b64=base64.b64encode(canonical_json(record)).decode(),
        proof=InclusionProof(
            leaf_index=event.leaf_index,
            index_in_batch=index,
            tree_size=seal.leaf_count,
            audit_path=[h.hex() for h in inclusion_path(index, hashes)],
        ),
        seal=seal_record(seal_mapping(seal), with_leaves=False),
    )


@router.get(
    "/verify",
    summary="Verify the stored access log",
    responses=problem_responses(400, 401, 403),
)
async def verify_log(
    hub: HubDep,
    auditor: AuditorActor,
    session: SessionDep,
    from_seq: Annotated[
        int | None, Query(alias="from", description="First event id.", ge=0, le=MAX_BIGINT)
    ] = None,
    to_seq: Annotated[
        int | None, Query(alias="to", description="Last event id.", ge=0, le=MAX_BIGINT)
    ] = None,
    pinned_head: Annotated[
        str | None,
        Query(
            description="A seal saved earlier, as SEAL_INDEX:SEAL_HASH (the `head` of an "
            "earlier report): the log must still hold it, or it was cut at one end.",
            pattern=PINNED_HEAD_PATTERN,
            max_length=83,
        ),
    ] = None,
) -> VerifyReport:
    """Recompute every leaf, root, seal hash, signature and chain link of the stored log (or of
    the batches holding events ``from``..``to``), streaming batch by batch. ``ok`` is false
    when anything was tampered with; ``first_problem`` names the first bad event id, its
    chain position and a stable code (docs/audit.md lists them). With ``pinned_head`` a log
    whose newest seals were removed, or whose oldest were cut and re-anchored, fails too."""
    await record_query(
        hub,
        auditor,
        "verify",
        {"from": from_seq, "to": to_seq, "pinned_head": pinned_head},
    )
    pinned = PinnedHead.parse(pinned_head) if pinned_head is not None else None
    keys = await published_public_keys(session)
    report = await verify_database(session, keys, from_seq=from_seq, to_seq=to_seq, pinned=pinned)
    return VerifyReport.model_validate(report.as_dict())


@router.get("/public-key", summary="Sealing public keys", dependencies=[PUBLIC])
async def public_key(hub: HubDep, session: SessionDep) -> SealingKeys:
    """Every Ed25519 key that has signed seals, current and retired (base64 raw 32 bytes).
    Save this document: ``declare-once audit verify --public-key FILE`` needs nothing else."""
    sealer = hub.audit.sealer
    current = sealer.current_key_id if sealer is not None else None
    return SealingKeys.model_validate(key_document(await published_keys(session), current))
