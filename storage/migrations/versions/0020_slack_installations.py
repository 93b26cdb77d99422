"""slack installations: workspaces installed through OAuth (sealed tokens), OAuth states, Grid workspaces

Revision ID: 0020_slack_installations
Revises: 0015_trust_db
Create Date: 2026-12-02 11:50:00

New tables only: the previous release runs on the upgraded schema unchanged. Plain CREATE TABLE works
on SQLite and PostgreSQL.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0020_slack_installations'
down_revision = '0015_trust_db'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('slack_installation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enterprise_id', sa.String(length=32), nullable=False),
    sa.Column('team_id', sa.String(length=32), nullable=False),
    sa.Column('is_enterprise_install', sa.Boolean(), nullable=False),
    sa.Column('app_id', sa.String(length=32), nullable=False),
    sa.Column('enterprise_name', sa.String(length=255), nullable=False),
    sa.Column('enterprise_url', sa.String(length=255), nullable=False),
    sa.Column('team_name', sa.String(length=255), nullable=False),
    sa.Column('bot_id', sa.String(length=32), nullable=False),
    sa.Column('bot_user_id', sa.String(length=32), nullable=False),
    sa.Column('bot_scopes', sa.Text(), nullable=False),
    sa.Column('bot_token', sa.Text(), nullable=False),
    sa.Column('bot_refresh_token', sa.Text(), nullable=True),
    sa.Column('bot_token_expires_at', sa.DateTime(), nullable=True),
    sa.Column('installer_user_id', sa.String(length=32), nullable=False),
    sa.Column('user_scopes', sa.Text(), nullable=False),
    sa.Column('user_token', sa.Text(), nullable=True),
    sa.Column('user_refresh_token', sa.Text(), nullable=True),
    sa.Column('user_token_expires_at', sa.DateTime(), nullable=True),
    sa.Column('token_type', sa.String(length=16), nullable=False),
    sa.Column('installed_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('uninstalled_at', sa.DateTime(), nullable=True),
    sa.Column('uninstall_reason', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('enterprise_id', 'team_id', name='uq_slack_installation_target')
    )
    with op.batch_alter_table('slack_installation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_slack_installation_enterprise_id'), ['enterprise_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_slack_installation_team_id'), ['team_id'], unique=False)

    op.create_table('slack_oauth_state',
    sa.Column('state', sa.String(length=128), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('state')
    )
    with op.batch_alter_table('slack_oauth_state', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_slack_oauth_state_expires_at'), ['expires_at'], unique=False)

    op.create_table('slack_team',
    sa.Column('team_id', sa.String(length=32), nullable=False),
    sa.Column('enterprise_id', sa.String(length=32), nullable=False),
    sa.Column('seen_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('team_id')
    )
    with op.batch_alter_table('slack_team', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_slack_team_enterprise_id'), ['enterprise_id'], unique=False)


def downgrade() -> None:
    op.drop_table('slack_team')
    op.drop_table('slack_oauth_state')
    op.drop_table('slack_installation')
