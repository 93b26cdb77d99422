"""matrix crypto: the Matrix bot's end-to-end encryption state (matrix-nio's crypto store)

Revision ID: 0007_matrix_crypto
Revises: 0005_merge
Create Date: 2026-12-02 05:18:32

New tables only (no change to existing ones), so the same plain CREATE TABLE works on SQLite and
PostgreSQL; the downgrade drops them (the bot's device then starts over with a new Olm account).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007_matrix_crypto'
down_revision = '0005_merge'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('matrix_crypto_account',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.String(length=255), nullable=False),
    sa.Column('device_id', sa.String(length=255), nullable=False),
    sa.Column('device_name', sa.String(length=255), nullable=False),
    sa.Column('pickle_key', sa.Text(), nullable=False),
    sa.Column('pickle', sa.Text(), nullable=False),
    sa.Column('shared', sa.Boolean(), nullable=False),
    sa.Column('generation', sa.Integer(), nullable=False),
    sa.Column('holder', sa.String(length=128), nullable=False),
    sa.Column('claimed_at', sa.DateTime(), nullable=True),
    sa.Column('sync_token', sa.Text(), nullable=True),
    sa.Column('cross_signing', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('user_id', 'device_id', name='uq_matrix_crypto_account')
    )
    op.create_table('matrix_crypto_device',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.String(length=255), nullable=False),
    sa.Column('device_id', sa.String(length=255), nullable=False),
    sa.Column('display_name', sa.Text(), nullable=False),
    sa.Column('keys', sa.Text(), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('trust', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['matrix_crypto_account.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('account_id', 'user_id', 'device_id', name='uq_matrix_crypto_device')
    )
    with op.batch_alter_table('matrix_crypto_device', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_matrix_crypto_device_account_id'), ['account_id'], unique=False)

    op.create_table('matrix_crypto_group_session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('room_id', sa.String(length=255), nullable=False),
    sa.Column('sender_key', sa.String(length=128), nullable=False),
    sa.Column('session_id', sa.String(length=128), nullable=False),
    sa.Column('signing_key', sa.String(length=128), nullable=False),
    sa.Column('forwarding_chain', sa.Text(), nullable=False),
    sa.Column('pickle', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['matrix_crypto_account.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('account_id', 'room_id', 'sender_key', 'session_id', name='uq_matrix_crypto_group_session')
    )
    with op.batch_alter_table('matrix_crypto_group_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_matrix_crypto_group_session_account_id'), ['account_id'], unique=False)

    op.create_table('matrix_crypto_key_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.String(length=255), nullable=False),
    sa.Column('session_id', sa.String(length=128), nullable=False),
    sa.Column('room_id', sa.String(length=255), nullable=False),
    sa.Column('algorithm', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['matrix_crypto_account.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('account_id', 'request_id', name='uq_matrix_crypto_key_request')
    )
    with op.batch_alter_table('matrix_crypto_key_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_matrix_crypto_key_request_account_id'), ['account_id'], unique=False)

    op.create_table('matrix_crypto_olm_session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('sender_key', sa.String(length=128), nullable=False),
    sa.Column('session_id', sa.String(length=128), nullable=False),
    sa.Column('pickle', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['matrix_crypto_account.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('account_id', 'session_id', name='uq_matrix_crypto_olm_session')
    )
    with op.batch_alter_table('matrix_crypto_olm_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_matrix_crypto_olm_session_account_id'), ['account_id'], unique=False)

    op.create_table('matrix_crypto_outbound_session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('room_id', sa.String(length=255), nullable=False),
    sa.Column('session_id', sa.String(length=128), nullable=False),
    sa.Column('pickle', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('message_count', sa.Integer(), nullable=False),
    sa.Column('shared_with', sa.Text(), nullable=False),
    sa.Column('ignored', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['matrix_crypto_account.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('account_id', 'room_id', name='uq_matrix_crypto_outbound_session')
    )
    with op.batch_alter_table('matrix_crypto_outbound_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_matrix_crypto_outbound_session_account_id'), ['account_id'], unique=False)

    op.create_table('matrix_crypto_room',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('room_id', sa.String(length=255), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['matrix_crypto_account.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('account_id', 'room_id', name='uq_matrix_crypto_room')
    )
    with op.batch_alter_table('matrix_crypto_room', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_matrix_crypto_room_account_id'), ['account_id'], unique=False)

    op.create_table('matrix_crypto_tracked_user',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.String(length=255), nullable=False),
    sa.Column('outdated', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['matrix_crypto_account.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('account_id', 'user_id', name='uq_matrix_crypto_tracked_user')
    )
    with op.batch_alter_table('matrix_crypto_tracked_user', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_matrix_crypto_tracked_user_account_id'), ['account_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('matrix_crypto_tracked_user', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_matrix_crypto_tracked_user_account_id'))

    op.drop_table('matrix_crypto_tracked_user')
    with op.batch_alter_table('matrix_crypto_room', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_matrix_crypto_room_account_id'))

    op.drop_table('matrix_crypto_room')
    with op.batch_alter_table('matrix_crypto_outbound_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_matrix_crypto_outbound_session_account_id'))

    op.drop_table('matrix_crypto_outbound_session')
    with op.batch_alter_table('matrix_crypto_olm_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_matrix_crypto_olm_session_account_id'))

    op.drop_table('matrix_crypto_olm_session')
    with op.batch_alter_table('matrix_crypto_key_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_matrix_crypto_key_request_account_id'))

    op.drop_table('matrix_crypto_key_request')
    with op.batch_alter_table('matrix_crypto_group_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_matrix_crypto_group_session_account_id'))

    op.drop_table('matrix_crypto_group_session')
    with op.batch_alter_table('matrix_crypto_device', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_matrix_crypto_device_account_id'))

    op.drop_table('matrix_crypto_device')
    op.drop_table('matrix_crypto_account')
