"""Dictionary lifecycle: status steps of record versions and compatibility modes set by API.

Revision ID: 0008_registry_lifecycle
Revises: 0007_audit_anchors
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_registry_lifecycle"
down_revision: str | None = "0007_audit_anchors"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "dictionary_status_changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("record_type", sa.String(100), nullable=False),
        sa.Column("version", sa.String(40), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("changed_at", TS, nullable=False),
        sa.Column("changed_by", sa.String(36), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_dictionary_status_changes"),
    )
    op.create_index(
        "ix_dictionary_status_changes_record_type", "dictionary_status_changes", ["record_type"]
    )
    op.create_table(
        "dictionary_compatibility_changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("record_type", sa.String(100), nullable=False),
        sa.Column("mode", sa.String(30), nullable=False),
        sa.Column("changed_at", TS, nullable=False),
        sa.Column("changed_by", sa.String(36), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_dictionary_compatibility_changes"),
    )
    op.create_index(
        "ix_dictionary_compatibility_changes_record_type",
        "dictionary_compatibility_changes",
        ["record_type"],
    )


def downgrade() -> None:
    op.drop_table("dictionary_compatibility_changes")
    op.drop_table("dictionary_status_changes")
