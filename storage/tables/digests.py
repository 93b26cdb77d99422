"""Digest schedules and runs. A run is unique on (community, period end): two schedulers, one post."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.tables.base import UTCDateTime, utcnow


class DigestSchedule(SQLModel, table=True):
    """A community's own schedule; communities without one follow the default (Monday 09:00)."""

    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(foreign_key="community.id", unique=True)
    cron: str = Field(max_length=120)
    timezone: str = Field(max_length=64)
    updated_by: int | None = Field(default=None, foreign_key="person.id")
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    off_since: datetime | None = Field(default=None, sa_type=UTCDateTime)  # `digest schedule <slug> off`


class DigestRun(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("community_id", "period_end", name="uq_digest_run_period"),)

    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(foreign_key="community.id", index=True)
    period_start: datetime = Field(sa_type=UTCDateTime)
    period_end: datetime = Field(sa_type=UTCDateTime)
    ran_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    channels: int = Field(default=0)  # how many channel posts were queued
