"""Sync conflicts between two systems' records about the same person.

Revision ID: 0013_sync_conflicts
Revises: 0012_subscriptions
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0013_sync_conflicts"
down_revision: str | None = "0012_subscriptions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "sync_conflicts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("rule", sa.String(60), nullable=False),
        sa.Column("subject_id", sa.String(32), nullable=False),
        sa.Column("left_record_type", sa.String(100), nullable=False),
        sa.Column("left_system", sa.String(40), nullable=False),
        sa.Column("left_reference", sa.String(300), nullable=True),
        sa.Column("right_record_type", sa.String(100), nullable=False),
        sa.Column("right_system", sa.String(40), nullable=False),
        sa.Column("right_reference", sa.String(300), nullable=True),
        sa.Column("fields", JSON, nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("changes", sa.Integer, nullable=False),
        sa.Column("opened_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.Column("closed_at", TIMESTAMP, nullable=True),
    )
    op.create_index(
        "ix_sync_conflicts_rule_subject_status", "sync_conflicts", ["rule", "subject_id", "status"]
    )
    op.create_index("ix_sync_conflicts_status_opened_at", "sync_conflicts", ["status", "opened_at"])


def downgrade() -> None:
    op.drop_table("sync_conflicts")
