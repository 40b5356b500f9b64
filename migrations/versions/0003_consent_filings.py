"""Consents, filings, corrections and result records.

Revision ID: 0003_consent_filings
Revises: 0002_connectors
Create Date: 2026-11-23
"""

from collections.abc import Sequence

revision: str = "0003_consent_filings"
down_revision: str | None = "0002_connectors"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Filled in by the domain's change."""


def downgrade() -> None:
    """Filled in by the domain's change."""
