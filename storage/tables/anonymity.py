"""What anonymous people did, kept apart from every row that names someone.

An anonymous question or a secret vote is audited here rather than in `AuditEntry`: no actor, the time
only to the hour, and an id that is a keyed digest of the platform event (or random), so that no id
sequence places it between identified rows. The id also makes the event once-only (it stands in for the
`ProcessedEvent` row, whose order and time would place it too).
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from storage.tables.base import UTCDateTime


class AnonymousRecord(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=64)  # digest of the event key, or random: no order
    at: datetime = Field(sa_type=UTCDateTime)  # to the hour
    action: str = Field(max_length=64)
    subject: str = Field(default="", max_length=64)
