"""everyday: a language per channel and per community, digests that can be turned off

Revision ID: 0011_everyday
Revises: 0007_matrix_crypto
Create Date: 2026-12-02 07:00:00

Three nullable columns, nothing else: the previous release keeps running on this schema during a
rolling update (it neither reads nor writes them). `channel.locale` and `community.locale`: the language
of a community's posts (`community language <slug> fr`); `digestschedule.off_since`: when a manager
turned the community's digest off (`digest schedule <slug> off`).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_everyday"
down_revision = "0007_matrix_crypto"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("channel") as batch:
        batch.add_column(sa.Column("locale", sa.String(length=8), nullable=True))
    with op.batch_alter_table("community") as batch:
        batch.add_column(sa.Column("locale", sa.String(length=8), nullable=True))
    with op.batch_alter_table("digestschedule") as batch:
        batch.add_column(sa.Column("off_since", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("digestschedule") as batch:
        batch.drop_column("off_since")
    with op.batch_alter_table("community") as batch:
        batch.drop_column("locale")
    with op.batch_alter_table("channel") as batch:
        batch.drop_column("locale")
