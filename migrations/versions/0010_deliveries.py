"""The outbox of deliveries to the owning systems; a result's confirmation by its owner; the
owner's answer to a forwarded correction.

Revision ID: 0010_deliveries
Revises: 0009_consent_approval_once
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010_deliveries"
down_revision: str | None = "0009_consent_approval_once"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "deliveries",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("origin_kind", sa.String(20), nullable=False),
        sa.Column("origin_id", sa.String(36), nullable=False),
        sa.Column("filing_id", sa.String(36), nullable=True),
        sa.Column("procedure", sa.String(100), nullable=True),
        sa.Column("record_type", sa.String(100), nullable=False),
        sa.Column("subject_id", sa.String(32), nullable=True),
        sa.Column("system", sa.String(40), nullable=False),
        sa.Column("connector_id", sa.String(36), nullable=False),
        sa.Column("after_id", sa.String(36), nullable=True),
        sa.Column("client_id", sa.String(36), nullable=True),
        sa.Column("agency", sa.String(300), nullable=True),
        sa.Column("officer_id", sa.String(200), nullable=True),
        sa.Column("case_id", sa.String(200), nullable=True),
        sa.Column("document", JSON, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", TIMESTAMP, nullable=False),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        sa.Column("lease_until", TIMESTAMP, nullable=True),
        sa.Column("error_code", sa.String(60), nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("source_status", sa.Integer, nullable=True),
        sa.Column("returned", JSON, nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.Column("delivered_at", TIMESTAMP, nullable=True),
    )
    op.create_index(
        "ix_deliveries_status_next_attempt_at", "deliveries", ["status", "next_attempt_at"]
    )
    op.create_index("ix_deliveries_origin", "deliveries", ["origin_kind", "origin_id"])
    op.create_index("ix_deliveries_filing_id", "deliveries", ["filing_id"])
    with op.batch_alter_table("filing_results") as batch:
        batch.add_column(sa.Column("confirmed_at", TIMESTAMP, nullable=True))
    with op.batch_alter_table("filing_corrections") as batch:
        batch.add_column(sa.Column("answer", JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("filing_corrections") as batch:
        batch.drop_column("answer")
    with op.batch_alter_table("filing_results") as batch:
        batch.drop_column("confirmed_at")
    op.drop_table("deliveries")
