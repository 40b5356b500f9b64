"""Connectors: registrations, mapping versions, statistics and quality.

Revision ID: 0002_connectors
Revises: 0001_foundation
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002_connectors"
down_revision: str | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "connectors",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("system", sa.String(40), nullable=False),
        sa.Column("base_url", sa.String(500), nullable=False),
        sa.Column("auth_kind", sa.String(20), nullable=False),
        sa.Column("auth_settings", JSON, nullable=False),
        sa.Column("auth_secret", sa.Text(), nullable=True),
        sa.Column("record_types", JSON, nullable=False),
        sa.Column("active_mappings", JSON, nullable=False),
        sa.Column("policy", JSON, nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("probe", JSON, nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("created_by", sa.String(36), nullable=False),
        sa.Column("updated_by", sa.String(36), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_connectors"),
        sa.UniqueConstraint("name", name="uq_connectors_name"),
    )
    op.create_table(
        "connector_mappings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("connector_id", sa.String(36), nullable=False),
        sa.Column("record_type", sa.String(100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("spec", JSON, nullable=False),
        sa.Column("shipped", sa.String(100), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("created_by", sa.String(36), nullable=False),
        sa.ForeignKeyConstraint(
            ["connector_id"],
            ["connectors.id"],
            name="fk_connector_mappings_connector_id_connectors",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_connector_mappings"),
        sa.UniqueConstraint(
            "connector_id",
            "record_type",
            "version",
            name="uq_connector_mappings_connector_id_record_type_version",
        ),
    )
    op.create_index("ix_connector_mappings_connector_id", "connector_mappings", ["connector_id"])
    op.create_table(
        "connector_quality",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("connector_id", sa.String(36), nullable=False),
        sa.Column("record_type", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("ended_at", TS, nullable=False),
        sa.Column("fetched", sa.Integer(), nullable=False),
        sa.Column("valid", sa.Integer(), nullable=False),
        sa.Column("required_present", sa.Integer(), nullable=False),
        sa.Column("required_expected", sa.Integer(), nullable=False),
        sa.Column("optional_present", sa.Integer(), nullable=False),
        sa.Column("optional_expected", sa.Integer(), nullable=False),
        sa.Column("dated", sa.Integer(), nullable=False),
        sa.Column("stale", sa.Integer(), nullable=False),
        sa.Column("age_histogram", JSON, nullable=False),
        sa.Column("conflicts_checked", sa.Integer(), nullable=False),
        sa.Column("conflicts", sa.Integer(), nullable=False),
        sa.Column("conflict_examples", JSON, nullable=False),
        sa.Column("details", JSON, nullable=False),
        sa.ForeignKeyConstraint(
            ["connector_id"],
            ["connectors.id"],
            name="fk_connector_quality_connector_id_connectors",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_connector_quality"),
    )
    op.create_index(
        "ix_connector_quality_connector_id_kind", "connector_quality", ["connector_id", "kind"]
    )


def downgrade() -> None:
    op.drop_table("connector_quality")
    op.drop_table("connector_mappings")
    op.drop_table("connectors")
