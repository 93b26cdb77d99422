"""trust roles: supporters of a nomination, and two-sided account linking

Revision ID: 0016_trust_roles
Revises: 0013_matrix_ux
Create Date: 2026-12-02 12:00:00

Additive only (the previous release runs on this schema during a rolling update): a new table,
`nominationsupporter` (a second nominator of the same person for the same position, issue #12), and three
nullable columns on `linkcode` (who typed the code and when, when they confirmed; the code's own account
confirms last, which sets `used_at` as before).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016_trust_roles"
down_revision: str | None = "0019_slack_update"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "nominationsupporter",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("nomination_id", sa.Integer(), nullable=False),
        sa.Column("supporter_id", sa.Integer(), nullable=False),
        sa.Column("argument", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["nomination_id"], ["nomination.id"]),
        sa.ForeignKeyConstraint(["supporter_id"], ["person.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("nomination_id", "supporter_id", name="uq_nomination_supporter"),
    )
    with op.batch_alter_table("nominationsupporter") as batch:
        batch.create_index(batch.f("ix_nominationsupporter_nomination_id"), ["nomination_id"], unique=False)
        batch.create_index(batch.f("ix_nominationsupporter_supporter_id"), ["supporter_id"], unique=False)
        batch.create_index(batch.f("ix_nominationsupporter_created_at"), ["created_at"], unique=False)
    with op.batch_alter_table("linkcode") as batch:
        batch.add_column(sa.Column("claimed_by", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("claimed_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("confirmed_at", sa.DateTime(), nullable=True))
        batch.create_foreign_key("fk_linkcode_claimed_by_account", "account", ["claimed_by"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("linkcode") as batch:
        batch.drop_constraint("fk_linkcode_claimed_by_account", type_="foreignkey")
        batch.drop_column("confirmed_at")
        batch.drop_column("claimed_at")
        batch.drop_column("claimed_by")
    op.drop_table("nominationsupporter")
