"""Sync conflicts for auditors and admins: which systems disagree about whom (masked), on
what, since when. The owning agencies are told through their subscriptions."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from sqlalchemy import select

from app.audit.service import mask_citizen_id
from app.conflicts.models import SyncConflict
from app.conflicts.schemas import ConflictList, ConflictOut, SideOut
from app.deps import SessionDep
from app.errors import problem_responses
from app.routing import HubRoute
from app.security.deps import AuditorClient
from app.sources.crosscheck import RULES

router = APIRouter(prefix="/v1/conflicts", tags=["conflicts"], route_class=HubRoute)

_DESCRIPTIONS = {rule.id: rule.description for rule in RULES}


def conflict_out(row: SyncConflict) -> ConflictOut:
    return ConflictOut(
        id=row.id,
        rule=row.rule,
        description=_DESCRIPTIONS.get(row.rule, row.rule),
        subject_hint=mask_citizen_id(row.subject_id),
        population=SideOut(
            record_type=row.left_record_type,
            system=row.left_system,
            source_reference=row.left_reference,
        ),
        other=SideOut(
            record_type=row.right_record_type,
            system=row.right_system,
            source_reference=row.right_reference,
        ),
        fields=list(row.fields),
        status="open" if row.status == "open" else "closed",
        opened_at=row.opened_at,
        updated_at=row.updated_at,
        closed_at=row.closed_at,
    )


@router.get("", summary="List sync conflicts", responses=problem_responses(401, 403, 422))
async def list_conflicts(
    auditor: AuditorClient,
    session: SessionDep,
    status: Annotated[Literal["open", "closed"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> ConflictList:
    """Conflicts between the population database and another system's records about the
    same person, newest first. The subject is masked; the values stay with the systems."""
    query = select(SyncConflict).order_by(SyncConflict.id.desc()).limit(limit)
    if status is not None:
        query = query.where(SyncConflict.status == status)
    return ConflictList(items=[conflict_out(r) for r in await session.scalars(query)])
