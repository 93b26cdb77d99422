"""trust db: anonymous records kept apart from identified rows (issue #12)

Revision ID: 0015_trust_db
Revises: 0016_trust_roles
Create Date: 2026-12-02 12:10:00

A new table only (additive): the previous release never reads or writes it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0015_trust_db'
down_revision = '0016_trust_roles'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'anonymousrecord',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('action', sa.String(length=64), nullable=False),
        sa.Column('subject', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )


def downgrade() -> None:
    op.drop_table('anonymousrecord')
