"""All tables. Importing this package registers every table on `SQLModel.metadata`."""

from storage.tables.anonymity import AnonymousRecord
from storage.tables.communities import (
    Community,
    CommunityActivity,
    CommunityChannel,
    CommunityTopic,
    Membership,
    Resource,
    ResourceTag,
)
from storage.tables.consultations import Consultation, ConsultationOption, ConsultationVoter, Idea, IdeaUpvote
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
from storage.tables.digests import DigestRun, DigestSchedule
from storage.tables.live import OutboxEdit, PostRefresh
from storage.tables.matrix_crypto import (
    MatrixCryptoAccount,
    MatrixCryptoDevice,
    MatrixCryptoGroupSession,
    MatrixCryptoKeyRequest,
    MatrixCryptoOlmSession,
    MatrixCryptoOutboundSession,
    MatrixCryptoRoom,
    MatrixCryptoTrackedUser,
)
from storage.tables.referrals import (
    Nomination,
    NominationEvent,
    NominationReminder,
    NominationSupporter,
    Position,
    PositionSkill,
)
from storage.tables.slack_oauth import SlackInstallation, SlackOAuthState, SlackTeam

__all__ = [
    "Account", "AnonymousRecord", "AuditEntry", "Channel", "Community", "CommunityActivity", "CommunityChannel",
    "CommunityTopic", "Consultation", "ConsultationOption", "ConsultationVoter", "Crisis", "CrisisAck",
    "CrisisAnnouncement", "CrisisAudience", "CrisisChannel", "CrisisCommunicator", "CrisisQuestion",
    "CrisisReminder", "CrisisReminderRound", "DigestRun", "DigestSchedule", "Idea", "IdeaUpvote", "KeyValue",
    "LinkCode", "MatrixCryptoAccount", "MatrixCryptoDevice", "MatrixCryptoGroupSession", "MatrixCryptoKeyRequest",
    "MatrixCryptoOlmSession", "MatrixCryptoOutboundSession", "MatrixCryptoRoom", "MatrixCryptoTrackedUser",
    "Membership", "Nomination", "NominationEvent", "NominationReminder", "NominationSupporter", "OutboxEdit",
    "OutboxMessage", "Person", "PersonSkill", "Position", "PositionSkill", "PostRefresh",
    "ProcessedEvent", "Resource", "ResourceTag", "RoleGrant", "SlackInstallation", "SlackOAuthState", "SlackTeam",
]
