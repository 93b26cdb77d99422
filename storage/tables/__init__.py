"""All tables. Importing this package registers every table on `SQLModel.metadata`."""

from storage.tables.communities import (
    Community,
    CommunityActivity,
    CommunityChannel,
    CommunityTopic,
    Membership,
    Resource,
    ResourceTag,
)
from storage.tables.core import (
    Account,
    AuditEntry,
    Channel,
    KeyValue,
    LinkCode,
    OutboxMessage,
    Person,
    PersonSkill,
    ProcessedEvent,
    RoleGrant,
)
from storage.tables.crisis import (
    Crisis,
    CrisisAck,
    CrisisAnnouncement,
    CrisisAudience,
    CrisisChannel,
    CrisisCommunicator,
    CrisisQuestion,
    CrisisReminder,
    CrisisReminderRound,
)

__all__ = [
    "Account", "AuditEntry", "Channel", "Community", "CommunityActivity", "CommunityChannel",
    "CommunityTopic", "Crisis", "CrisisAck", "CrisisAnnouncement", "CrisisAudience", "CrisisChannel",
    "CrisisCommunicator", "CrisisQuestion", "CrisisReminder", "CrisisReminderRound",
    "KeyValue", "LinkCode", "Membership", "OutboxMessage", "Person", "PersonSkill",
    "ProcessedEvent", "Resource", "ResourceTag", "RoleGrant",
]
