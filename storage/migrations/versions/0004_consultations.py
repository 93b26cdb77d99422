"""consultations, ideas, digests

Revision ID: 0004_consultations
Revises: 0001_core
Create Date: 2026-11-23 18:14:24.557348
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004_consultations'
down_revision = '0001_core'
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('consultation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('question', sa.Text(), nullable=False),
    sa.Column('anonymous', sa.Boolean(), nullable=False),
    sa.Column('hidden', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('closes_at', sa.DateTime(), nullable=True),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.Column('decision', sa.Text(), nullable=True),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['community_id'], ['community.id'], ),
    sa.ForeignKeyConstraint(['created_by'], ['person.id'], ),
    sa.ForeignKeyConstraint(['decided_by'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('consultation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consultation_closes_at'), ['closes_at'], unique=False)
        batch_op.create_index('ix_consultation_community_created', ['community_id', 'created_at'], unique=False)

    op.create_table('digestrun',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('period_start', sa.DateTime(), nullable=False),
    sa.Column('period_end', sa.DateTime(), nullable=False),
    sa.Column('ran_at', sa.DateTime(), nullable=False),
    sa.Column('channels', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['community.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('community_id', 'period_end', name='uq_digest_run_period')
    )
    with op.batch_alter_table('digestrun', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_digestrun_community_id'), ['community_id'], unique=False)

    op.create_table('digestschedule',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('cron', sa.String(length=120), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('updated_by', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['community.id'], ),
    sa.ForeignKeyConstraint(['updated_by'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('community_id')
    )
    op.create_table('idea',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('proposed_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('upvotes', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.Column('answered_by', sa.Integer(), nullable=True),
    sa.Column('answered_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['answered_by'], ['person.id'], ),
    sa.ForeignKeyConstraint(['community_id'], ['community.id'], ),
    sa.ForeignKeyConstraint(['proposed_by'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('idea', schema=None) as batch_op:
        batch_op.create_index('ix_idea_community_created', ['community_id', 'created_at'], unique=False)

    op.create_table('consultationoption',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('consultation_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=300), nullable=False),
    sa.Column('votes', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['consultation_id'], ['consultation.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('consultation_id', 'number', name='uq_consultation_option')
    )
    with op.batch_alter_table('consultationoption', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consultationoption_consultation_id'), ['consultation_id'], unique=False)

    op.create_table('ideaupvote',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('idea_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['idea_id'], ['idea.id'], ),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('idea_id', 'person_id', name='uq_idea_upvote')
    )
    with op.batch_alter_table('ideaupvote', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ideaupvote_idea_id'), ['idea_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ideaupvote_person_id'), ['person_id'], unique=False)

    op.create_table('consultationvoter',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('consultation_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('option_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['consultation_id'], ['consultation.id'], ),
    sa.ForeignKeyConstraint(['option_id'], ['consultationoption.id'], ),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('consultation_id', 'person_id', name='uq_consultation_voter')
    )
    with op.batch_alter_table('consultationvoter', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consultationvoter_consultation_id'), ['consultation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_consultationvoter_person_id'), ['person_id'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('consultationvoter', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consultationvoter_person_id'))
        batch_op.drop_index(batch_op.f('ix_consultationvoter_consultation_id'))

    op.drop_table('consultationvoter')
    with op.batch_alter_table('ideaupvote', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ideaupvote_person_id'))
        batch_op.drop_index(batch_op.f('ix_ideaupvote_idea_id'))

    op.drop_table('ideaupvote')
    with op.batch_alter_table('consultationoption', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consultationoption_consultation_id'))

    op.drop_table('consultationoption')
    with op.batch_alter_table('idea', schema=None) as batch_op:
        batch_op.drop_index('ix_idea_community_created')

    op.drop_table('idea')
    op.drop_table('digestschedule')
    with op.batch_alter_table('digestrun', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_digestrun_community_id'))

    op.drop_table('digestrun')
    with op.batch_alter_table('consultation', schema=None) as batch_op:
        batch_op.drop_index('ix_consultation_community_created')
        batch_op.drop_index(batch_op.f('ix_consultation_closes_at'))

    op.drop_table('consultation')

