"""Subscriptions to the change log, and their webhook queue.

Revision ID: 0012_subscriptions
Revises: 0011_change_log
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0012_subscriptions"
down_revision: str | None = "0011_change_log"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)
SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("client_id", sa.String(36), nullable=False),
        sa.Column("agency", sa.String(300), nullable=True),
        sa.Column("description", sa.String(300), nullable=True),
        sa.Column("record_types", JSON, nullable=False),
        sa.Column("purpose", sa.String(100), nullable=False),
        sa.Column("province_codes", JSON, nullable=False),
        sa.Column("subject_hmacs", JSON, nullable=False),
        sa.Column("delivery", sa.String(10), nullable=False),
        sa.Column("url", sa.Text, nullable=True),
        sa.Column("secrets_sealed", sa.Text, nullable=True),
        sa.Column("previous_secret_until", TIMESTAMP, nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("status_reason", sa.String(60), nullable=True),
        sa.Column("last_error_code", sa.String(60), nullable=True),
        sa.Column("last_http_status", sa.Integer, nullable=True),
        sa.Column("last_attempt_at", TIMESTAMP, nullable=True),
        sa.Column("last_delivered_at", TIMESTAMP, nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
    )
    op.create_index("ix_subscriptions_client_id", "subscriptions", ["client_id"])
    op.create_index("ix_subscriptions_status", "subscriptions", ["status"])
    op.create_table(
        "subscription_events",
        sa.Column("id", SEQ, primary_key=True, autoincrement=True),
        sa.Column("subscription_id", sa.String(36), nullable=False),
        sa.Column("change_seq", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", TIMESTAMP, nullable=False),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        sa.Column("lease_until", TIMESTAMP, nullable=True),
        sa.Column("error_code", sa.String(60), nullable=True),
        sa.Column("http_status", sa.Integer, nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.Column("delivered_at", TIMESTAMP, nullable=True),
        sa.UniqueConstraint("subscription_id", "change_seq", name="uq_subscription_events_change"),
    )
    op.create_index(
        "ix_subscription_events_status_next_attempt_at",
        "subscription_events",
        ["status", "next_attempt_at"],
    )


def downgrade() -> None:
    op.drop_table("subscription_events")
    op.drop_table("subscriptions")
