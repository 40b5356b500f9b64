"""The change log of the source systems' feeds, and each feed's cursor.

Revision ID: 0011_change_log
Revises: 0010_deliveries
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011_change_log"
down_revision: str | None = "0010_deliveries"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)
SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "change_events",
        sa.Column("seq", SEQ, primary_key=True, autoincrement=True),
        sa.Column("system", sa.String(40), nullable=False),
        sa.Column("connector_id", sa.String(36), nullable=False),
        sa.Column("source_seq", sa.BigInteger, nullable=False),
        sa.Column("record_type", sa.String(100), nullable=False),
        sa.Column("operation", sa.String(20), nullable=False),
        sa.Column("subject_id", sa.String(32), nullable=False),
        sa.Column("province_code", sa.String(8), nullable=True),
        sa.Column("source_reference", sa.String(300), nullable=True),
        sa.Column("record_version", sa.Integer, nullable=True),
        sa.Column("changed_fields", JSON, nullable=False),
        sa.Column("dictionary_version", sa.String(40), nullable=False),
        sa.Column("registered_at", TIMESTAMP, nullable=True),
        sa.Column("effective_on", sa.Date, nullable=True),
        sa.Column("ingested_at", TIMESTAMP, nullable=False),
        sa.UniqueConstraint("system", "source_seq", "record_type", name="uq_change_events_source"),
    )
    op.create_index("ix_change_events_record_type_seq", "change_events", ["record_type", "seq"])
    op.create_index("ix_change_events_subject_id", "change_events", ["subject_id"])
    op.create_index("ix_change_events_ingested_at", "change_events", ["ingested_at"])
    op.create_table(
        "feed_cursors",
        sa.Column("connector_id", sa.String(36), primary_key=True),
        sa.Column("system", sa.String(40), nullable=False),
        sa.Column("source_seq", sa.BigInteger, nullable=False),
        sa.Column("source_last_seq", sa.BigInteger, nullable=True),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("feed_cursors")
    op.drop_table("change_events")
