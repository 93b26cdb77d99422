"""Join the capability branches (referrals, crisis, consultations) into one line of history.

Revision ID: 0005_merge
Revises: 0002_referrals, 0003_crisis, 0004_consultations
"""

from __future__ import annotations

revision = "0005_merge"
down_revision = ("0002_referrals", "0003_crisis", "0004_consultations")
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing to change: the branches touch different tables."""


def downgrade() -> None:
    """Nothing to undo."""
