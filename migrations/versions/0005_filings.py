"""Filings: the declare-once flow's filings, their result records and correction requests.

Revision ID: 0005_filings
Revises: 0004_audit
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005_filings"
down_revision: str | None = "0004_audit"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "filings",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("procedure", sa.String(100), nullable=False),
        sa.Column("client_id", sa.String(36), nullable=False),
        sa.Column("agency", sa.String(300), nullable=False),
        sa.Column("officer_id", sa.String(200), nullable=False),
        sa.Column("case_id", sa.String(200), nullable=True),
        sa.Column("applicant_id", sa.String(32), nullable=False),
        sa.Column("on_behalf_of", sa.String(32), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("dossier", JSON, nullable=False),
        sa.Column("provenance", JSON, nullable=False),
        sa.Column("component_states", JSON, nullable=False),
        sa.Column("typed_fields", JSON, nullable=False),
        sa.Column("fields_prefilled", sa.Integer(), nullable=False),
        sa.Column("fields_typed", sa.Integer(), nullable=False),
        sa.Column("components_from_state", sa.Integer(), nullable=False),
        sa.Column("components_supplied", sa.Integer(), nullable=False),
        sa.Column("submit_key", sa.String(200), nullable=True),
        sa.Column("submit_hash", sa.String(64), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("submitted_at", TS, nullable=True),
        sa.Column("decided_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_filings"),
    )
    op.create_index("ix_filings_client_id_created_at", "filings", ["client_id", "created_at"])
    op.create_index("ix_filings_applicant_id", "filings", ["applicant_id"])
    op.create_index("ix_filings_on_behalf_of", "filings", ["on_behalf_of"])
    op.create_index("ix_filings_procedure_status", "filings", ["procedure", "status"])
    op.create_table(
        "filing_results",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("filing_id", sa.String(36), nullable=False),
        sa.Column("procedure", sa.String(100), nullable=False),
        sa.Column("record_type", sa.String(100), nullable=False),
        sa.Column("record_version", sa.String(40), nullable=False),
        sa.Column("subject_id", sa.String(32), nullable=False),
        sa.Column("record", JSON, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["filing_id"], ["filings.id"], name="fk_filing_results_filing_id_filings"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_filing_results"),
        sa.UniqueConstraint("filing_id", name="uq_filing_results_filing_id"),
    )
    op.create_index(
        "ix_filing_results_record_type_subject_id",
        "filing_results",
        ["record_type", "subject_id"],
    )
    op.create_table(
        "filing_corrections",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("filing_id", sa.String(36), nullable=False),
        sa.Column("client_id", sa.String(36), nullable=False),
        sa.Column("applicant_id", sa.String(32), nullable=False),
        sa.Column("subject_id", sa.String(32), nullable=True),
        sa.Column("field", sa.String(200), nullable=False),
        sa.Column("record_type", sa.String(100), nullable=False),
        sa.Column("owner_system", sa.String(40), nullable=False),
        sa.Column("owner_agency", sa.String(300), nullable=False),
        sa.Column("source_reference", sa.String(300), nullable=True),
        sa.Column("values", JSON, nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["filing_id"], ["filings.id"], name="fk_filing_corrections_filing_id_filings"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_filing_corrections"),
    )
    op.create_index("ix_filing_corrections_filing_id", "filing_corrections", ["filing_id"])
    op.create_index("ix_filing_corrections_applicant_id", "filing_corrections", ["applicant_id"])


def downgrade() -> None:
    op.drop_table("filing_corrections")
    op.drop_table("filing_results")
    op.drop_table("filings")
