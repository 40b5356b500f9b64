"""Procedure grants: which procedures a client may open and work filings of.

Revision ID: 0006_procedure_grants
Revises: 0005_filings
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_procedure_grants"
down_revision: str | None = "0005_filings"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "procedure_grants",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("client_id", sa.String(36), nullable=False),
        sa.Column("procedure", sa.String(100), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"], ["api_clients.id"], name="fk_procedure_grants_client_id_api_clients"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_procedure_grants"),
        sa.UniqueConstraint(
            "client_id", "procedure", name="uq_procedure_grants_client_id_procedure"
        ),
    )
    op.create_index("ix_procedure_grants_client_id", "procedure_grants", ["client_id"])


def downgrade() -> None:
    op.drop_table("procedure_grants")
