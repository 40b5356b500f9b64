"""A citizen-signed consent approval activates one consent: the hash it bound, unique.

Revision ID: 0009_consent_approval_once
Revises: 0008_registry_lifecycle
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_consent_approval_once"
down_revision: str | None = "0008_registry_lifecycle"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("consents") as batch:
        batch.add_column(sa.Column("approval_sha256", sa.String(64), nullable=True))
        batch.create_unique_constraint("uq_consents_approval_sha256", ["approval_sha256"])


def downgrade() -> None:
    with op.batch_alter_table("consents") as batch:
        batch.drop_constraint("uq_consents_approval_sha256", type_="unique")
        batch.drop_column("approval_sha256")
