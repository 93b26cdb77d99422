"""Talent-referral tables: positions, nominations, their history and consent reminders.

Nomination arguments and HR notes are confidential: they live only here, never in audit
details, logs or channel messages.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.tables.base import UTCDateTime, utcnow


class Position(SQLModel, table=True):
    """An internal position HR opens for nominations."""

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=200)
    site: str = Field(max_length=200)
    team: str = Field(default="", max_length=200)
    description: str = Field(default="", sa_type=Text)
    closes_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    opened_by: int | None = Field(default=None, foreign_key="person.id")
    opened_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class PositionSkill(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("position_id", "skill", name="uq_position_skill"),)

    id: int | None = Field(default=None, primary_key=True)
    position_id: int = Field(foreign_key="position.id", index=True)
    skill: str = Field(max_length=80, index=True)


class Nomination(SQLModel, table=True):
    """One person nominated for one position. `unique_key` ("<position>:<nominee>") makes a second
    nomination of the same person for the same position impossible, even from two replicas."""

    __table_args__ = (
        UniqueConstraint("unique_key", name="uq_nomination_position_nominee"),
        Index("ix_nomination_state_updated", "state", "updated_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    position_id: int = Field(foreign_key="position.id", index=True)
    nominator_id: int = Field(foreign_key="person.id", index=True)
    nominee_id: int = Field(foreign_key="person.id", index=True)
    unique_key: str | None = Field(default=None, max_length=64)
    argument: str = Field(sa_type=Text)
    state: str = Field(max_length=20)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)  # last state change
    consent_asked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    consented_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class NominationEvent(SQLModel, table=True):
    """One state change, with HR's optional note (shared with nominator and nominee only if asked)."""

    id: int | None = Field(default=None, primary_key=True)
    nomination_id: int = Field(foreign_key="nomination.id", index=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    actor_id: int | None = Field(default=None, foreign_key="person.id")
    from_state: str = Field(max_length=20)
    to_state: str = Field(max_length=20)
    note: str = Field(default="", sa_type=Text)
    shared: bool = Field(default=False)


class NominationReminder(SQLModel, table=True):
    """A consent reminder (round 1) or the lapse (round 2) of a nomination: one row per round, so the
    periodic job acts once even when it runs twice or on two replicas."""

    __table_args__ = (UniqueConstraint("nomination_id", "round", name="uq_nomination_reminder_round"),)

    id: int | None = Field(default=None, primary_key=True)
    nomination_id: int = Field(foreign_key="nomination.id", index=True)
    round: int
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class NominationSupporter(SQLModel, table=True):
    """A second person who nominated the same person for the same position while the first nomination was
    in progress: they get the same answer as its nominator (the nominee is asked once, nobody learns there
    was already a nomination) and HR sees their argument next to the first one."""

    __table_args__ = (UniqueConstraint("nomination_id", "supporter_id", name="uq_nomination_supporter"),)

    id: int | None = Field(default=None, primary_key=True)
    nomination_id: int = Field(foreign_key="nomination.id", index=True)
    supporter_id: int = Field(foreign_key="person.id", index=True)
    argument: str = Field(sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
