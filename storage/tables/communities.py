"""Community tables: communities, topics, memberships, linked channels, resources, activity."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.tables.base import UTCDateTime, utcnow


class Community(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=40, unique=True)
    name: str = Field(max_length=200)
    purpose: str = Field(default="", sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    created_by: int | None = Field(default=None, foreign_key="person.id")
    archived_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    locale: str | None = Field(default=None, max_length=8)  # `community language`: its channels' language


class CommunityTopic(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("community_id", "topic", name="uq_community_topic"),)

    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(foreign_key="community.id", index=True)
    topic: str = Field(max_length=80, index=True)


class Membership(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("community_id", "person_id", name="uq_membership"),)

    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(foreign_key="community.id", index=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    is_manager: bool = Field(default=False)
    joined_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CommunityChannel(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("community_id", "channel_id", name="uq_community_channel"),)

    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(foreign_key="community.id", index=True)
    channel_id: int = Field(foreign_key="channel.id", index=True)
    linked_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Resource(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(foreign_key="community.id", index=True)
    url: str = Field(max_length=2000)
    title: str = Field(max_length=300)
    shared_by: int | None = Field(default=None, foreign_key="person.id")
    shared_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ResourceTag(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("resource_id", "tag", name="uq_resource_tag"),)

    id: int | None = Field(default=None, primary_key=True)
    resource_id: int = Field(foreign_key="resource.id", index=True)
    tag: str = Field(max_length=80, index=True)


class CommunityActivity(SQLModel, table=True):
    """One contribution of a person to a community (joined, shared, voted, proposed, answered...).

    `whoknows` ranks by it and digests compute health figures from it.
    """

    __table_args__ = (Index("ix_activity_community_at", "community_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(foreign_key="community.id")
    person_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    kind: str = Field(max_length=32)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
