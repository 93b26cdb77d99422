"""matrix ux: the zone a person's platform gives (a Matrix profile's m.tz), per account

Revision ID: 0013_matrix_ux
Revises: 0011_everyday
Create Date: 2026-12-02 07:30:00

One nullable column on an existing table: the previous release inserts accounts without it. SQLite
needs `batch_alter_table` for column changes; the same code runs on PostgreSQL.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0013_matrix_ux'
down_revision = '0011_everyday'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('account') as batch:
        batch.add_column(sa.Column('platform_timezone', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('account') as batch:
        batch.drop_column('platform_timezone')
