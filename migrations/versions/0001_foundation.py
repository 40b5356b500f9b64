"""Foundation: API clients, keys, access rights, published dictionary versions.

Revision ID: 0001_foundation
Revises:
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001_foundation"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "api_clients",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("agency", sa.String(300), nullable=False),
        sa.Column("roles", JSON, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("disabled_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_api_clients"),
        sa.UniqueConstraint("name", name="uq_api_clients_name"),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("client_id", sa.String(36), nullable=False),
        sa.Column("prefix", sa.String(32), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("revoked_at", TS, nullable=True),
        sa.Column("last_used_at", TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"], ["api_clients.id"], name="fk_api_keys_client_id_api_clients"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_api_keys"),
        sa.UniqueConstraint("prefix", name="uq_api_keys_prefix"),
    )
    op.create_index("ix_api_keys_client_id", "api_keys", ["client_id"])
    op.create_table(
        "access_rights",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("client_id", sa.String(36), nullable=False),
        sa.Column("record_type", sa.String(100), nullable=False),
        sa.Column("fields", JSON, nullable=False),
        sa.Column("purposes", JSON, nullable=False),
        sa.Column("legal_basis", sa.Text(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"], ["api_clients.id"], name="fk_access_rights_client_id_api_clients"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_access_rights"),
    )
    op.create_index("ix_access_rights_client_id", "access_rights", ["client_id"])
    op.create_table(
        "dictionary_record_versions",
        sa.Column("id", sa.String(80), nullable=False),
        sa.Column("record_type", sa.String(100), nullable=False),
        sa.Column("version", sa.String(40), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("content", JSON, nullable=False),
        sa.Column("published_at", TS, nullable=False),
        sa.Column("published_by", sa.String(36), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_dictionary_record_versions"),
        sa.UniqueConstraint(
            "record_type", "version", name="uq_dictionary_record_versions_record_type_version"
        ),
    )
    op.create_index(
        "ix_dictionary_record_versions_record_type", "dictionary_record_versions", ["record_type"]
    )


def downgrade() -> None:
    op.drop_table("dictionary_record_versions")
    op.drop_table("access_rights")
    op.drop_table("api_keys")
    op.drop_table("api_clients")
