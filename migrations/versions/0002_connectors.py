"""Connectors: registrations, mapping versions, statistics and quality.

Revision ID: 0002_connectors
Revises: 0001_foundation
Create Date: 2026-11-23
"""

from collections.abc import Sequence

revision: str = "0002_connectors"
down_revision: str | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Filled in by the domain's change."""


def downgrade() -> None:
    """Filled in by the domain's change."""
