"""slack update: posts updated in place (a live key per outbox post, refresh requests, coalesced edits)

Revision ID: 0019_slack_update
Revises: 0013_matrix_ux
Create Date: 2026-12-02 12:05:00

Additive: a nullable, indexed column on the outbox (the previous release inserts rows without it) and two
new tables. SQLite needs `batch_alter_table` for the column; the same code runs on PostgreSQL.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0019_slack_update'
down_revision = '0013_matrix_ux'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outboxmessage') as batch:
        batch.add_column(sa.Column('live_key', sa.String(length=128), nullable=True))
        batch.create_index(batch.f('ix_outboxmessage_live_key'), ['live_key'], unique=False)
    op.create_table(
        'postrefresh',
        sa.Column('key', sa.String(length=128), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('done_version', sa.Integer(), nullable=False),
        sa.Column('due_at', sa.DateTime(), nullable=False),
        sa.Column('claimed_until', sa.DateTime(), nullable=True),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('key'),
    )
    with op.batch_alter_table('postrefresh') as batch:
        batch.create_index(batch.f('ix_postrefresh_due_at'), ['due_at'], unique=False)
    op.create_table(
        'outboxedit',
        sa.Column('original_id', sa.Integer(), nullable=False),
        sa.Column('platform', sa.String(length=16), nullable=False),
        sa.Column('workspace', sa.String(length=255), nullable=False),
        sa.Column('target_kind', sa.String(length=8), nullable=False),
        sa.Column('target_id', sa.String(length=255), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('sent_version', sa.Integer(), nullable=False),
        sa.Column('due_at', sa.DateTime(), nullable=False),
        sa.Column('claimed_by', sa.String(length=64), nullable=True),
        sa.Column('claimed_until', sa.DateTime(), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('last_error', sa.String(length=500), nullable=True),
        sa.Column('sent_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['original_id'], ['outboxmessage.id']),
        sa.PrimaryKeyConstraint('original_id'),
    )
    with op.batch_alter_table('outboxedit') as batch:
        batch.create_index(batch.f('ix_outboxedit_due_at'), ['due_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('outboxedit') as batch:
        batch.drop_index(batch.f('ix_outboxedit_due_at'))
    op.drop_table('outboxedit')
    with op.batch_alter_table('postrefresh') as batch:
        batch.drop_index(batch.f('ix_postrefresh_due_at'))
    op.drop_table('postrefresh')
    with op.batch_alter_table('outboxmessage') as batch:
        batch.drop_index(batch.f('ix_outboxmessage_live_key'))
        batch.drop_column('live_key')
