"""The access log: events, seals, keys, archives.

Revision ID: 0004_audit
Revises: 0003_consent_filings
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004_audit"
down_revision: str | None = "0003_consent_filings"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("ts", TS, nullable=False),
        sa.Column("kind", sa.String(60), nullable=False),
        sa.Column("client_id", sa.String(36), nullable=True),
        sa.Column("agency", sa.String(300), nullable=True),
        sa.Column("officer_id", sa.String(200), nullable=True),
        sa.Column("case_id", sa.String(200), nullable=True),
        sa.Column("subject_hmac", sa.String(64), nullable=True),
        sa.Column("subject_hint", sa.String(32), nullable=True),
        sa.Column("record_type", sa.String(100), nullable=True),
        sa.Column("fields", JSON, nullable=False),
        sa.Column("purpose", sa.String(100), nullable=True),
        sa.Column("procedure", sa.String(100), nullable=True),
        sa.Column("filing_id", sa.String(36), nullable=True),
        sa.Column("basis", sa.String(500), nullable=True),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("error_code", sa.String(60), nullable=True),
        sa.Column("request_id", sa.String(64), nullable=True),
        sa.Column("request_hash", sa.String(64), nullable=True),
        sa.Column("response_hash", sa.String(64), nullable=True),
        sa.Column("details", JSON, nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_audit_events"),
    )
    op.create_index("ix_audit_events_subject_hmac_seq", "audit_events", ["subject_hmac", "seq"])
    op.create_index("ix_audit_events_client_id_seq", "audit_events", ["client_id", "seq"])
    op.create_index("ix_audit_events_ts", "audit_events", ["ts"])


def downgrade() -> None:
    op.drop_table("audit_events")
