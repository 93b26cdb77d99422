"""crisis announcements; channel.direct

Revision ID: 0003_crisis
Revises: 0001_core
Create Date: 2026-11-23 18:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003_crisis'
down_revision = '0001_core'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN (no table copy): SQLite allows it with a constant default.
    op.add_column('channel', sa.Column('direct', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table('crisis',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('audience', sa.String(length=1000), nullable=False),
    sa.Column('community_ids', sa.String(length=1000), nullable=False),
    sa.Column('remind_after_minutes', sa.Integer(), nullable=False),
    sa.Column('declared_by', sa.Integer(), nullable=True),
    sa.Column('declared_at', sa.DateTime(), nullable=False),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['declared_by'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('crisiscommunicator',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('crisis_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['crisis_id'], ['crisis.id'], ),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('crisis_id', 'person_id', name='uq_crisis_communicator')
    )
    op.create_index('ix_crisiscommunicator_crisis_id', 'crisiscommunicator', ['crisis_id'])
    op.create_index('ix_crisiscommunicator_person_id', 'crisiscommunicator', ['person_id'])
    op.create_table('crisischannel',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('crisis_id', sa.Integer(), nullable=False),
    sa.Column('channel_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['crisis_id'], ['crisis.id'], ),
    sa.ForeignKeyConstraint(['channel_id'], ['channel.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('crisis_id', 'channel_id', name='uq_crisis_channel')
    )
    op.create_index('ix_crisischannel_crisis_id', 'crisischannel', ['crisis_id'])
    op.create_table('crisisaudience',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('crisis_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['crisis_id'], ['crisis.id'], ),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('crisis_id', 'person_id', name='uq_crisis_audience')
    )
    op.create_index('ix_crisisaudience_crisis_id', 'crisisaudience', ['crisis_id'])
    op.create_index('ix_crisisaudience_person_id', 'crisisaudience', ['person_id'])
    op.create_table('crisisannouncement',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('crisis_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['crisis_id'], ['crisis.id'], ),
    sa.ForeignKeyConstraint(['author_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('crisis_id', 'number', name='uq_crisis_announcement')
    )
    op.create_index('ix_crisisannouncement_crisis_id', 'crisisannouncement', ['crisis_id'])
    op.create_table('crisisack',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('announcement_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['announcement_id'], ['crisisannouncement.id'], ),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('announcement_id', 'person_id', name='uq_crisis_ack')
    )
    op.create_index('ix_crisisack_announcement_id', 'crisisack', ['announcement_id'])
    op.create_index('ix_crisisack_person_id', 'crisisack', ['person_id'])
    op.create_table('crisisquestion',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('crisis_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('anonymous', sa.Boolean(), nullable=False),
    sa.Column('asker_id', sa.Integer(), nullable=True),
    sa.Column('asked_at', sa.DateTime(), nullable=False),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.Column('answered_by', sa.Integer(), nullable=True),
    sa.Column('answered_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['crisis_id'], ['crisis.id'], ),
    sa.ForeignKeyConstraint(['asker_id'], ['person.id'], ),
    sa.ForeignKeyConstraint(['answered_by'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_crisisquestion_crisis_id', 'crisisquestion', ['crisis_id'])
    op.create_table('crisisreminderround',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('announcement_id', sa.Integer(), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('open', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['announcement_id'], ['crisisannouncement.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('announcement_id', 'round', name='uq_crisis_reminder_round')
    )
    op.create_index('ix_crisisreminderround_announcement_id', 'crisisreminderround', ['announcement_id'])
    op.create_table('crisisreminder',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['round_id'], ['crisisreminderround.id'], ),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('round_id', 'person_id', name='uq_crisis_reminder')
    )
    op.create_index('ix_crisisreminder_round_id', 'crisisreminder', ['round_id'])
    op.create_index('ix_crisisreminder_person_id', 'crisisreminder', ['person_id'])


def downgrade() -> None:
    for table in ('crisisreminder', 'crisisreminderround', 'crisisquestion', 'crisisack', 'crisisannouncement',
                  'crisisaudience', 'crisischannel', 'crisiscommunicator', 'crisis'):
        op.drop_table(table)
    with op.batch_alter_table('channel') as batch:
        batch.drop_column('direct')
