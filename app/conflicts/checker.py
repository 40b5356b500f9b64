"""The live check: each change in the change log that a rule watches is checked against the
other system's record about the same subject, and the rule's conflict for that subject is
opened, updated or closed.

It follows the change log with its own cursor (a ``feed_cursors`` row named ``CURSOR``),
checks outside any transaction (it pulls both records through the connectors), then in one
transaction moves the cursor with a conditional UPDATE and writes what it found, so two
instances never both act on one change. Opening and closing are news for the agencies that
hold either record type: each is appended to the change log (system ``hub``, operation
``conflict_opened`` / ``conflict_closed``, the disagreeing fields, in each side's own names,
as the changed fields), and
the subscriptions deliver it like any other change.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.background import Repeating
from app.changes.log import NewChange, append_changes
from app.changes.models import CONFLICT_CLOSED, CONFLICT_OPENED, ChangeEvent, FeedCursor
from app.conflicts.models import CLOSED, OPEN, SyncConflict
from app.errors import HubError
from app.sources.crosscheck import Rule, rules_of
from app.sources.errors import SubjectNotFound
from app.timestamps import utcnow

if TYPE_CHECKING:
    from app.hub import Hub


CURSOR = "hub:sync-conflicts"
HUB_SYSTEM = "hub"
BATCH = 200


@dataclass(frozen=True, slots=True)
class _Side:
    system: str
    reference: str | None
    records: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class _Finding:
    rule: Rule
    subject_id: str
    left: _Side
    right: _Side
    fields: list[str]


class _SourceStopped(Exception):
    pass


class ConflictChecker(Repeating):
    name = "sync-conflicts"

    def __init__(self, hub: Hub) -> None:
        super().__init__(hub.settings.change_feed_poll_seconds)
        self._hub = hub

    async def _cursor(self) -> int:
        async with self._hub.sessionmaker() as session:
            found = await session.scalar(
                select(FeedCursor.source_seq).where(FeedCursor.connector_id == CURSOR)
            )
        if found is not None:
            return int(found)
        with contextlib.suppress(IntegrityError):
            async with self._hub.sessionmaker.begin() as session:
                session.add(
                    FeedCursor(
                        connector_id=CURSOR, system=HUB_SYSTEM, source_seq=0, updated_at=utcnow()
                    )
                )
        return 0

    async def run_once(self) -> int:
        """Check the next changes of the log; the number of changes checked."""
        after = await self._cursor()
        async with self._hub.sessionmaker() as session:
            pending = list(
                await session.scalars(
                    select(ChangeEvent)
                    .where(ChangeEvent.seq > after, ChangeEvent.system != HUB_SYSTEM)
                    .order_by(ChangeEvent.seq)
                    .limit(BATCH)
                )
            )
        if not pending:
            return 0
        findings: list[_Finding] = []
        reached = after
        checked: set[tuple[str, str]] = set()
        for change in pending:
            try:
                for rule in rules_of(change.record_type):
                    if (rule.id, change.subject_id) in checked:
                        continue
                    checked.add((rule.id, change.subject_id))
                    finding = await self._check(rule, change.subject_id)
                    if finding is not None:
                        findings.append(finding)
            except _SourceStopped:
                break
            reached = change.seq
        if reached == after:
            return 0
        async with self._hub.sessionmaker.begin() as session:
            moved = await session.execute(
                update(FeedCursor)
                .where(FeedCursor.connector_id == CURSOR, FeedCursor.source_seq == after)
                .values(source_seq=reached, updated_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            if getattr(moved, "rowcount", 0) != 1:
                return 0
            news: list[NewChange] = []
            for finding in findings:
                news.extend(await self._record(session, finding))
            await append_changes(session, news, self._hub.change_listeners)
        return sum(1 for c in pending if c.seq <= reached)

    async def _pull(self, record_type: str, subject_id: str) -> _Side | None:
        connectors = self._hub.connectors
        try:
            fetched = await connectors.fetch(record_type, subject_id)
        except SubjectNotFound:
            return _Side(connectors.source_for(record_type).system, None, [])
        except HubError as exc:
            if exc.code == "no_source":
                return None  # the rule cannot be checked: nobody serves that side
            if exc.code == "source_invalid_record":
                return None
            raise _SourceStopped from exc
        reference = fetched.records[0].raw_reference if fetched.records else None
        return _Side(fetched.system, reference, [r.data for r in fetched.records])

    async def _check(self, rule: Rule, subject_id: str) -> _Finding | None:
        left, right = await asyncio.gather(
            self._pull(rule.left, subject_id), self._pull(rule.right, subject_id)
        )
        if left is None or right is None:
            return None  # a side cannot be read: no verdict, an open conflict stays open
        person = left.records[0] if left.records else None
        fields: list[str] = []
        for record in right.records:
            for name in rule.compare(person, record):
                if name not in fields:
                    fields.append(name)
        return _Finding(rule, subject_id, left, right, fields)

    async def _record(self, session: AsyncSession, finding: _Finding) -> list[NewChange]:
        """Open, update or close the rule's conflict for the subject; the news to publish."""
        rule, subject = finding.rule, finding.subject_id
        current = await session.scalar(
            select(SyncConflict).where(
                SyncConflict.rule == rule.id,
                SyncConflict.subject_id == subject,
                SyncConflict.status == OPEN,
            )
        )
        now = utcnow()
        if current is None and not finding.fields:
            return []
        if current is not None and sorted(current.fields) == sorted(finding.fields):
            return []
        if current is None:
            current = SyncConflict(
                rule=rule.id,
                subject_id=subject,
                left_record_type=rule.left,
                left_system=finding.left.system,
                left_reference=finding.left.reference,
                right_record_type=rule.right,
                right_system=finding.right.system,
                right_reference=finding.right.reference,
                fields=list(finding.fields),
                status=OPEN,
                changes=0,
                opened_at=now,
                updated_at=now,
            )
            session.add(current)
            await session.flush()
            operation = CONFLICT_OPENED
        else:
            current.changes += 1
            current.updated_at = now
            if finding.fields:
                current.fields = list(finding.fields)
                operation = CONFLICT_OPENED
            else:
                current.status, current.closed_at = CLOSED, now
                operation = CONFLICT_CLOSED
            await session.flush()
        dictionary = self._hub.dictionary
        # Each side's holder is told the fields in its own record type's names.
        fields = list(finding.fields or current.fields)
        return [
            NewChange(
                system=HUB_SYSTEM,
                connector_id=HUB_SYSTEM,
                # Unique per conflict and step, for the change log's once-only key.
                source_seq=current.id * 1000 + current.changes,
                record_type=record_type,
                operation=operation,
                subject_id=subject,
                dictionary_version=dictionary.validator(record_type).version,
                changed_fields=tuple(named),
            )
            for record_type, named in (
                (rule.left, fields),
                (rule.right, rule.right_fields(fields)),
            )
        ]
