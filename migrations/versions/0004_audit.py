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
# BIGSERIAL on PostgreSQL; INTEGER PRIMARY KEY AUTOINCREMENT (the rowid, never reused) on SQLite.
EVENT_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("seq", EVENT_ID, autoincrement=True, nullable=False),
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
        sa.Column("leaf_index", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("seq", name="pk_audit_events"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_audit_events_subject_hmac_seq", "audit_events", ["subject_hmac", "seq"])
    op.create_index("ix_audit_events_client_id_seq", "audit_events", ["client_id", "seq"])
    op.create_index("ix_audit_events_ts", "audit_events", ["ts"])
    op.create_index("ix_audit_events_record_type_seq", "audit_events", ["record_type", "seq"])
    op.create_index("ix_audit_events_filing_id_seq", "audit_events", ["filing_id", "seq"])
    op.create_index("ix_audit_events_officer_id_seq", "audit_events", ["officer_id", "seq"])
    op.create_index("ix_audit_events_leaf_index", "audit_events", ["leaf_index"], unique=True)
    op.create_index(
        "ix_audit_events_unsealed",
        "audit_events",
        ["seq"],
        postgresql_where=sa.text("leaf_index IS NULL"),
        sqlite_where=sa.text("leaf_index IS NULL"),
    )
    op.create_table(
        "audit_seals",
        sa.Column("seal_index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("leaf_start", sa.BigInteger(), nullable=False),
        sa.Column("leaf_count", sa.Integer(), nullable=False),
        sa.Column("root", sa.String(64), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("sealed_at", sa.String(40), nullable=False),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("signature", sa.String(200), nullable=False),
        sa.Column("seal_hash", sa.String(64), nullable=False),
        sa.Column("leaf_hashes", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("seal_index", name="pk_audit_seals"),
    )
    op.create_table(
        "audit_keys",
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("algorithm", sa.String(20), nullable=False),
        sa.Column("public_key", sa.String(100), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("retired_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("key_id", name="pk_audit_keys"),
    )
    op.create_table(
        "audit_archives",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("file", sa.Text(), nullable=False),
        sa.Column("file_sha256", sa.String(64), nullable=False),
        sa.Column("first_seal", sa.BigInteger(), nullable=False),
        sa.Column("last_seal", sa.BigInteger(), nullable=False),
        sa.Column("leaf_end", sa.BigInteger(), nullable=False),
        sa.Column("last_seal_hash", sa.String(64), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_archives"),
    )


def downgrade() -> None:
    op.drop_table("audit_archives")
    op.drop_table("audit_keys")
    op.drop_table("audit_seals")
    op.drop_table("audit_events")
