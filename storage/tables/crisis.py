"""Crises: declared audience, announcements, acknowledgements, questions, reminder rounds.

An anonymous question has no column that could point at its asker, and its time is kept to the
hour only, so it cannot be matched against an account's last activity.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.tables.base import UTCDateTime, utcnow


class Crisis(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=300)
    status: str = Field(default="open", max_length=12)  # open, closed
    audience: str = Field(default="all", max_length=1000)  # as declared: "all", slugs, channels
    community_ids: str = Field(default="[]", max_length=1000)  # JSON list, for figures by community
    remind_after_minutes: int = Field(default=240)
    declared_by: int | None = Field(default=None, foreign_key="person.id")
    declared_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class CrisisCommunicator(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("crisis_id", "person_id", name="uq_crisis_communicator"),)

    id: int | None = Field(default=None, primary_key=True)
    crisis_id: int = Field(foreign_key="crisis.id", index=True)
    person_id: int = Field(foreign_key="person.id", index=True)


class CrisisChannel(SQLModel, table=True):
    """A channel of the resolved audience: every announcement goes there."""

    __table_args__ = (UniqueConstraint("crisis_id", "channel_id", name="uq_crisis_channel"),)

    id: int | None = Field(default=None, primary_key=True)
    crisis_id: int = Field(foreign_key="crisis.id", index=True)
    channel_id: int = Field(foreign_key="channel.id")


class CrisisAudience(SQLModel, table=True):
    """A person of the resolved audience: counted in the figures, reminded when they have not read."""

    __table_args__ = (UniqueConstraint("crisis_id", "person_id", name="uq_crisis_audience"),)

    id: int | None = Field(default=None, primary_key=True)
    crisis_id: int = Field(foreign_key="crisis.id", index=True)
    person_id: int = Field(foreign_key="person.id", index=True)


class CrisisAnnouncement(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("crisis_id", "number", name="uq_crisis_announcement"),)

    id: int | None = Field(default=None, primary_key=True)
    crisis_id: int = Field(foreign_key="crisis.id", index=True)
    number: int  # 1 is the announcement, 2... its updates
    text: str = Field(sa_type=Text)
    author_id: int | None = Field(default=None, foreign_key="person.id")
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CrisisAck(SQLModel, table=True):
    """One acknowledgement per person per announcement, whichever account or channel it came from."""

    __table_args__ = (UniqueConstraint("announcement_id", "person_id", name="uq_crisis_ack"),)

    id: int | None = Field(default=None, primary_key=True)
    announcement_id: int = Field(foreign_key="crisisannouncement.id", index=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CrisisQuestion(SQLModel, table=True):
    """A question. `asker_id` is None for an anonymous one, and nothing else records who asked."""

    id: int | None = Field(default=None, primary_key=True)
    crisis_id: int = Field(foreign_key="crisis.id", index=True)
    text: str = Field(sa_type=Text)
    anonymous: bool = Field(default=False)
    asker_id: int | None = Field(default=None, foreign_key="person.id")
    asked_at: datetime = Field(sa_type=UTCDateTime)  # to the hour
    answer: str | None = Field(default=None, sa_type=Text)
    answered_by: int | None = Field(default=None, foreign_key="person.id")
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class CrisisReminderRound(SQLModel, table=True):
    """A round of reminders for one announcement: round 1 is automatic, `crisis remind` adds rounds."""

    __table_args__ = (UniqueConstraint("announcement_id", "round", name="uq_crisis_reminder_round"),)

    id: int | None = Field(default=None, primary_key=True)
    announcement_id: int = Field(foreign_key="crisisannouncement.id", index=True)
    round: int
    started_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    open: bool = Field(default=True)  # closed once everyone of the audience was reminded or has read


class CrisisReminder(SQLModel, table=True):
    """One reminder sent to one person in one round (unique: a job run twice sends once)."""

    __table_args__ = (UniqueConstraint("round_id", "person_id", name="uq_crisis_reminder"),)

    id: int | None = Field(default=None, primary_key=True)
    round_id: int = Field(foreign_key="crisisreminderround.id", index=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
