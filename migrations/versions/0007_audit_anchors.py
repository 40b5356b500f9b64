"""Signed archive anchors: the audit signing key's signature over the seal that the remaining
log chains to, so that cutting the oldest batches cannot pass as an archive.

Revision ID: 0007_audit_anchors
Revises: 0006_procedure_grants
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_audit_anchors"
down_revision: str | None = "0006_procedure_grants"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("audit_archives") as batch:
        batch.add_column(sa.Column("anchor_signed_at", sa.String(40), nullable=True))
        batch.add_column(sa.Column("anchor_key_id", sa.String(64), nullable=True))
        batch.add_column(sa.Column("anchor_signature", sa.String(200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("audit_archives") as batch:
        batch.drop_column("anchor_signature")
        batch.drop_column("anchor_key_id")
        batch.drop_column("anchor_signed_at")
