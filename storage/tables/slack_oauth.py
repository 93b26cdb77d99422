"""Slack workspaces that installed the app through OAuth ("Add to Slack"), and the OAuth states in flight.

One row per installation target: a workspace (`team_id`), or a whole Enterprise Grid organisation for an
org-wide install (`is_enterprise_install`, `team_id` empty). Ids are stored as "" rather than NULL so that
the unique constraint holds on SQLite and PostgreSQL alike. Every token column is sealed with
`CERCLE_SECRET_KEY` (`bot.secret_box`): a copy of the database alone lets nobody act as the bot.
An uninstall or a token revocation marks the row (`uninstalled_at`), it does not delete it: what the
workspace left behind is removed by `cercle workspace forget`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.tables.base import UTCDateTime, utcnow


class SlackInstallation(SQLModel, table=True):
    __tablename__ = "slack_installation"
    __table_args__ = (UniqueConstraint("enterprise_id", "team_id", name="uq_slack_installation_target"),)

    id: int | None = Field(default=None, primary_key=True)
    enterprise_id: str = Field(default="", max_length=32, index=True)  # "" outside Enterprise Grid
    team_id: str = Field(default="", max_length=32, index=True)  # "" for an org-wide install
    is_enterprise_install: bool = Field(default=False)
    app_id: str = Field(default="", max_length=32)
    enterprise_name: str = Field(default="", max_length=255)
    enterprise_url: str = Field(default="", max_length=255)
    team_name: str = Field(default="", max_length=255)
    bot_id: str = Field(default="", max_length=32)
    bot_user_id: str = Field(default="", max_length=32)
    bot_scopes: str = Field(default="", sa_type=Text)
    bot_token: str = Field(default="", sa_type=Text)  # sealed
    bot_refresh_token: str | None = Field(default=None, sa_type=Text)  # sealed; token rotation only
    bot_token_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    installer_user_id: str = Field(default="", max_length=32)
    user_scopes: str = Field(default="", sa_type=Text)
    user_token: str | None = Field(default=None, sa_type=Text)  # sealed
    user_refresh_token: str | None = Field(default=None, sa_type=Text)  # sealed
    user_token_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    token_type: str = Field(default="", max_length=16)
    installed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    uninstalled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    uninstall_reason: str = Field(default="", max_length=64)  # "app_uninstalled", "tokens_revoked"


class SlackOAuthState(SQLModel, table=True):
    """A `state` handed to a browser by /slack/install: used once, before it expires."""

    __tablename__ = "slack_oauth_state"

    state: str = Field(primary_key=True, max_length=128)
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)


class SlackTeam(SQLModel, table=True):
    """A workspace of an Enterprise Grid organisation, as seen in its requests: the outbox knows a row's
    workspace only, and an org-wide installation is found through its organisation."""

    __tablename__ = "slack_team"

    team_id: str = Field(primary_key=True, max_length=32)
    enterprise_id: str = Field(max_length=32, index=True)
    seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
