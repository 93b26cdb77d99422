"""What the outbox and a platform agree on: the row a sender gets, how a send fails, a platform's pace."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.messages import Message


@dataclass(frozen=True)
class Outgoing:
    """One outbox row as a sender sees it."""

    id: int
    platform: str
    workspace: str
    target_kind: str  # "channel" or "dm"
    target_id: str
    message: Message
    attempts: int
    subject: str
    in_doubt: bool = False  # an earlier attempt may have reached the platform: look for it before posting
    created_at: datetime | None = None  # when the row was written: no attempt can be older (bounds a lookup)

    @property
    def idempotency_key(self) -> str:
        """Stable across attempts and workers: Matrix transaction id, Slack message metadata."""
        return f"cercle-outbox-{self.id}"


@dataclass(frozen=True)
class OutgoingEdit:
    """The latest content of a posted message, for a sender's optional `update(edit)` (Slack: chat.update,
    Matrix: an `m.replace` edit).
    An update is idempotent (it sets the content): a second attempt is never a duplicate."""

    original_id: int
    platform: str
    workspace: str
    target_kind: str
    target_id: str
    message_id: str  # the platform's id of the posted message (Slack: its ts, Matrix: its event id)
    message: Message
    version: int
    attempts: int


class DeliveryError(Exception):
    """A send that did not go through. `retry_after` (seconds) when the platform said when to retry;
    `permanent` when retrying cannot help (channel gone, bot removed); `uncertain` when the platform
    may have posted it anyway (timeout, 5xx, lost connection): the next attempt is then in doubt.
    Raise it with `retry_after` for a 429 and do not count it: the delivery worker counts every 429
    it is told about (`cercle_rate_limited_total`), once."""

    def __init__(self, reason: str, *, retry_after: float | None = None, permanent: bool = False,
                 uncertain: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.permanent = permanent
        self.uncertain = uncertain


class Sender(Protocol):
    """What an adapter offers the delivery worker. A sender may also have a `ready` attribute: while it is
    False the worker leaves the platform's rows for another replica (the Matrix sender is ready only on
    the leader, the one process that holds the bot's encryption keys)."""

    platform: str

    async def send(self, item: Outgoing) -> str:
        """Post the message; return the platform's message id. Raise DeliveryError on failure.
        When `item.in_doubt`, first look for a message already posted with `item.idempotency_key`.
        A sender may also offer `async update(edit: OutgoingEdit) -> None`: replace a posted message's
        content in place (live posts, `bot.outbox.live`); without it, live posts stay as first posted."""
        ...


@dataclass(frozen=True)
class RateLimit:
    """A platform's budget: seconds between two messages to one target, messages per second per workspace.
    The platform declares it; the composition root hands it to the worker."""

    per_target: float = 0.0
    per_second: float = 0.0
