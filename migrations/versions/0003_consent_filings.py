"""Consents (the filings tables come in their own revision).

Revision ID: 0003_consent_filings
Revises: 0002_connectors
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003_consent_filings"
down_revision: str | None = "0002_connectors"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "consents",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("receipt_id", sa.String(36), nullable=False),
        sa.Column("subject_id", sa.String(12), nullable=False),
        sa.Column("client_id", sa.String(36), nullable=False),
        sa.Column("agency", sa.String(300), nullable=False),
        sa.Column("purpose", sa.String(100), nullable=False),
        sa.Column("scope", JSON, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("valid_from", TS, nullable=False),
        sa.Column("valid_until", TS, nullable=False),
        sa.Column("fetch_type", sa.String(20), nullable=False),
        sa.Column("max_uses_per_period", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(10), nullable=True),
        sa.Column("use_count", sa.Integer(), nullable=False),
        sa.Column("period_key", sa.String(20), nullable=True),
        sa.Column("period_uses", sa.Integer(), nullable=False),
        sa.Column("last_used_at", TS, nullable=True),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("captured_at", TS, nullable=False),
        sa.Column("captured_by", sa.String(200), nullable=True),
        sa.Column("language", sa.String(10), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("activated_at", TS, nullable=True),
        sa.Column("ended_at", TS, nullable=True),
        sa.Column("ended_by", sa.String(20), nullable=True),
        sa.Column("end_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"], ["api_clients.id"], name="fk_consents_client_id_api_clients"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_consents"),
        sa.UniqueConstraint("receipt_id", name="uq_consents_receipt_id"),
    )
    op.create_index("ix_consents_subject_id_client_id", "consents", ["subject_id", "client_id"])
    op.create_index("ix_consents_client_id", "consents", ["client_id"])


def downgrade() -> None:
    op.drop_table("consents")
