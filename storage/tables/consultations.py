"""Consultation and idea tables.

Anonymity by construction: `ConsultationVoter` says who took part (one vote per member) and, only for
a named consultation, which option they chose; for an anonymous one `option_id` stays NULL and the
choice exists only as a counter in `ConsultationOption.votes`, so no row links a choice to a person.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.tables.base import UTCDateTime, utcnow


class Consultation(SQLModel, table=True):
    __table_args__ = (Index("ix_consultation_community_created", "community_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(foreign_key="community.id")
    question: str = Field(sa_type=Text)
    anonymous: bool = Field(default=False)
    hidden: bool = Field(default=False)  # results shown only once closed
    created_by: int | None = Field(default=None, foreign_key="person.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    closes_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    decision: str | None = Field(default=None, sa_type=Text)
    decided_by: int | None = Field(default=None, foreign_key="person.id")
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ConsultationOption(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("consultation_id", "number", name="uq_consultation_option"),)

    id: int | None = Field(default=None, primary_key=True)
    consultation_id: int = Field(foreign_key="consultation.id", index=True)
    number: int  # 1..10, as members type it
    label: str = Field(max_length=300)
    votes: int = Field(default=0)  # the tally, updated in the transaction of each vote


class ConsultationVoter(SQLModel, table=True):
    """One row per member who voted. `option_id` is NULL for anonymous consultations; no time is kept."""

    __table_args__ = (UniqueConstraint("consultation_id", "person_id", name="uq_consultation_voter"),)

    id: int | None = Field(default=None, primary_key=True)
    consultation_id: int = Field(foreign_key="consultation.id", index=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    option_id: int | None = Field(default=None, foreign_key="consultationoption.id")


class Idea(SQLModel, table=True):
    __table_args__ = (Index("ix_idea_community_created", "community_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(foreign_key="community.id")
    text: str = Field(sa_type=Text)
    proposed_by: int | None = Field(default=None, foreign_key="person.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    upvotes: int = Field(default=0)
    status: str = Field(default="open", max_length=16)  # open, accepted, under-study, declined
    answer: str | None = Field(default=None, sa_type=Text)
    answered_by: int | None = Field(default=None, foreign_key="person.id")
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class IdeaUpvote(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("idea_id", "person_id", name="uq_idea_upvote"),)

    id: int | None = Field(default=None, primary_key=True)
    idea_id: int = Field(foreign_key="idea.id", index=True)
    person_id: int = Field(foreign_key="person.id", index=True)
