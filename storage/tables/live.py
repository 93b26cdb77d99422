"""Posts that change in place: a post's key to be refreshed, and the edits waiting for each posted message."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Text
from sqlmodel import Field, SQLModel

from storage.tables.base import UTCDateTime, utcnow


class PostRefresh(SQLModel, table=True):
    """One row per live post key ("crisis:3:ann:1"): a change bumps `version`; the outbox re-renders the
    posts of that key when `version > done_version` and `due_at` has come (coalesced, paced per key)."""

    key: str = Field(primary_key=True, max_length=128)
    version: int = Field(default=1)
    done_version: int = Field(default=0)
    due_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class OutboxEdit(SQLModel, table=True):
    """The latest content of one posted message (an outbox row): sent in place (`chat.update`) once the post
    has its message id, when `version > sent_version`. One row per message: edits coalesce by construction."""

    original_id: int = Field(primary_key=True, foreign_key="outboxmessage.id")
    platform: str = Field(max_length=16)
    workspace: str = Field(max_length=255)
    target_kind: str = Field(max_length=8)
    target_id: str = Field(max_length=255)
    body: str = Field(sa_type=Text)  # Message.to_json()
    version: int = Field(default=1)
    sent_version: int = Field(default=0)
    due_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    claimed_by: str | None = Field(default=None, max_length=64)
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    attempts: int = Field(default=0)
    last_error: str | None = Field(default=None, max_length=500)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
