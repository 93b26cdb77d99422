"""Identity, roles, audit, once-only events, channels, the outbox and small key-value state."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Text, UniqueConstraint, false
from sqlmodel import Field, SQLModel

from storage.tables.base import UTCDateTime, utcnow


class Person(SQLModel, table=True):
    """A human. Roles, skills, memberships, votes belong to the person, not to an account."""

    id: int | None = Field(default=None, primary_key=True)
    display_name: str = Field(default="", max_length=200)
    locale: str | None = Field(default=None, max_length=8)  # chosen with `language`; None: not chosen
    site: str | None = Field(default=None, max_length=200)
    timezone: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Account(SQLModel, table=True):
    """One (platform, workspace, user id); several accounts may belong to one person."""

    __table_args__ = (UniqueConstraint("platform", "workspace", "user_id", name="uq_account_identity"),)

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=16)
    workspace: str = Field(max_length=255)
    user_id: str = Field(max_length=255)
    display_name: str = Field(default="", max_length=200)
    platform_locale: str | None = Field(default=None, max_length=16)
    person_id: int = Field(foreign_key="person.id", index=True)
    last_seen_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The zone the platform gives (a Matrix profile's m.tz); a person's `profile timezone` wins over it.
    platform_timezone: str | None = Field(default=None, max_length=64)


class PersonSkill(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("person_id", "skill", name="uq_person_skill"),)

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    skill: str = Field(max_length=80, index=True)


class RoleGrant(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("person_id", "role", name="uq_role_grant"),)

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    role: str = Field(max_length=32)
    granted_by: int | None = Field(default=None, foreign_key="person.id")
    granted_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class AuditEntry(SQLModel, table=True):
    """Who changed what, when. Details never hold confidential text (see referrals, crisis)."""

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    actor_person_id: int | None = Field(default=None, foreign_key="person.id")
    action: str = Field(max_length=64, index=True)
    subject: str = Field(default="", max_length=64, index=True)
    details: str = Field(default="{}", sa_type=Text)


class ProcessedEvent(SQLModel, table=True):
    """An incoming platform event already handled (Slack event_id/trigger_id, Matrix event_id)."""

    key: str = Field(primary_key=True, max_length=255)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)


class Channel(SQLModel, table=True):
    """A channel or room the bot has seen."""

    __table_args__ = (UniqueConstraint("platform", "workspace", "channel_id", name="uq_channel_identity"),)

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=16)
    workspace: str = Field(max_length=255)
    channel_id: str = Field(max_length=255)
    name: str = Field(default="", max_length=200)
    # A private conversation with the bot (never a broadcast target). The server default is the migration's
    # (0003, a column added to existing rows): a new database created at head gets it too.
    direct: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    locale: str | None = Field(default=None, max_length=8)  # the language of its posts; None: CERCLE_LOCALE


class LinkCode(SQLModel, table=True):
    """A one-time code joining two accounts into one person (`profile link`). Both accounts confirm: the one
    that types the code (`claimed_by`, then `confirmed_at`), then the one that asked for it (`used_at`)."""

    code: str = Field(primary_key=True, max_length=16)
    account_id: int = Field(foreign_key="account.id")
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    claimed_by: int | None = Field(default=None, foreign_key="account.id")
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    confirmed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class OutboxMessage(SQLModel, table=True):
    """One message to one target, written in the transaction of the change that caused it."""

    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        UniqueConstraint("dedupe_key", name="uq_outbox_dedupe"),
    )

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    platform: str = Field(max_length=16)
    workspace: str = Field(max_length=255)
    target_kind: str = Field(max_length=8)  # "channel" or "dm"
    target_id: str = Field(max_length=255)  # channel id, or the user id for a private message
    person_id: int | None = Field(default=None, foreign_key="person.id")  # recipient of a dm
    subject: str = Field(default="", max_length=64, index=True)  # what it is about: "crisis:3:ann:2"
    dedupe_key: str | None = Field(default=None, max_length=255)
    body: str = Field(sa_type=Text)  # Message.to_json()
    status: str = Field(default="pending", max_length=12)  # pending, sent, failed
    attempts: int = Field(default=0)
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # None: due at once
    claimed_by: str | None = Field(default=None, max_length=64)
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    platform_message_id: str | None = Field(default=None, max_length=255, index=True)
    last_error: str | None = Field(default=None, max_length=500)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The post's live key ("consultation:3"): refreshing it updates this message in place (storage/tables/live.py).
    live_key: str | None = Field(default=None, max_length=128, index=True)


class KeyValue(SQLModel, table=True):
    """Small durable state: the Matrix sync token, device id, leader facts."""

    key: str = Field(primary_key=True, max_length=128)
    value: str = Field(sa_type=Text)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
