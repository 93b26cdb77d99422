"""Writing to the outbox: one row per (message, target), in the caller's transaction.

`enqueue` and `enqueue_many` write rows; `send_to_channel` and `send_to_person` build the message in
the recipient's language first. An `Outbox` (one per application) does the same and wakes the
application's workers once the transaction commits; the plain functions leave the rows to the
workers' next poll.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import event, insert
from sqlmodel import Session, col, select

from bot import identity
from bot.i18n import use_locale
from bot.messages import Message
from bot.outbox.wakeup import Notifier
from bot.settings import Settings
from storage.tables import Channel, OutboxMessage, Person

_WAKE_PENDING = "cercle.outbox.wake"  # session.info key: a wake-up waits for this session's commit


def enqueue(session: Session, *, platform: str, workspace: str, target_kind: str, target_id: str,
            message: Message, person_id: int | None = None, subject: str = "",
            dedupe_key: str | None = None, not_before: datetime | None = None) -> OutboxMessage | None:
    """Add a row in the caller's transaction. With `dedupe_key`, a second enqueue of the same key is a
    no-op (returns None): scheduled work uses it to stay idempotent."""
    if dedupe_key is not None:
        existing = session.exec(select(OutboxMessage).where(OutboxMessage.dedupe_key == dedupe_key)).first()
        if existing is not None:
            return None
    row = OutboxMessage(platform=platform, workspace=workspace, target_kind=target_kind, target_id=target_id,
                        person_id=person_id, subject=subject, dedupe_key=dedupe_key, body=message.to_json(),
                        live_key=_live_key(target_kind, message))
    if not_before is not None:
        row.next_attempt_at = not_before
    session.add(row)
    session.flush()
    return row


def _live_key(target_kind: str, message: Message) -> str | None:
    """A channel post with a live key can be refreshed in place; a private message never is."""
    return message.live[:128] if message.live and target_kind == "channel" else None


@dataclass(frozen=True)
class Outbound:
    """One message for `enqueue_many`."""

    platform: str
    workspace: str
    target_kind: str
    target_id: str
    message: Message
    person_id: int | None = None
    dedupe_key: str | None = None


def enqueue_many(session: Session, items: list[Outbound], *, subject: str, now: datetime) -> int:
    """Add many rows in one statement (a reminder round to thousands). Unlike `enqueue`, dedupe keys are
    not looked up first: a key already used raises IntegrityError, so callers run this in a savepoint and
    fall back to `enqueue` one by one."""
    if not items:
        return 0
    bodies: dict[int, str] = {}
    rows = [{"created_at": now, "platform": i.platform, "workspace": i.workspace, "target_kind": i.target_kind,
             "target_id": i.target_id, "person_id": i.person_id, "subject": subject, "dedupe_key": i.dedupe_key,
             "body": bodies.setdefault(id(i.message), i.message.to_json()), "status": "pending", "attempts": 0,
             "next_attempt_at": now, "live_key": _live_key(i.target_kind, i.message)} for i in items]
    session.execute(insert(OutboxMessage), rows)
    return len(rows)


def send_to_channel(session: Session, settings: Settings, channel: Channel, build: Callable[[], Message], *,
                    subject: str = "", dedupe_key: str | None = None, now: datetime | None = None) -> bool:
    """Queue a message to a channel, built in the channel's language (`Channel.locale`, set by the community
    it is linked to; else the workspace's default) and the default time zone. `now`: the injected clock's
    time, so a row is due by that clock (tests run on a frozen one). False when `dedupe_key` was used before
    (nothing queued)."""
    with use_locale(channel.locale or settings.locale, zone=settings.timezone):
        message = build()
    return enqueue(session, platform=channel.platform, workspace=channel.workspace, target_kind="channel",
                   target_id=channel.channel_id, message=message, subject=subject, dedupe_key=dedupe_key,
                   not_before=now) is not None


def send_to_person(session: Session, settings: Settings, person_id: int, build: Callable[[], Message], *,
                   subject: str = "", dedupe_key: str | None = None, now: datetime | None = None) -> bool:
    """Queue a private message to a person on the account they used last, in their language and zone.
    False if they cannot be reached (no account)."""
    person = session.get(Person, person_id)
    account = identity.preferred_account(session, person_id)
    if person is None or account is None:
        return False
    with use_locale(identity.person_locale(session, person, settings.locale),
                    zone=identity.person_zone(session, person, settings.timezone)):
        message = build()
    enqueue(session, platform=account.platform, workspace=account.workspace, target_kind="dm",
            target_id=account.user_id, message=message, person_id=person_id, subject=subject,
            dedupe_key=dedupe_key, not_before=now)
    return True


def sent_message(session: Session, platform: str, platform_message_id: str) -> Message | None:
    """The message the outbox posted as `platform_message_id` on `platform` (e.g. to know which reaction
    runs which command on it), or None."""
    row = session.exec(select(OutboxMessage).where(col(OutboxMessage.platform_message_id) == platform_message_id,
                                                   OutboxMessage.platform == platform)).first()
    return Message.from_json(row.body) if row and row.body else None


class Outbox:
    """The application's outbox: the queue functions above, and the wake-up of the workers of this
    process (`notifier`; a `DeliveryWorker` subscribes to it) as soon as the rows are committed."""

    def __init__(self, notifier: Notifier | None = None) -> None:
        self.notifier = notifier or Notifier()

    def wake_after_commit(self, session: Session) -> None:
        """Wake the workers once this session's transaction commits (once however many rows it holds;
        a row is claimable only then). A rolled-back transaction wakes them at the session's next commit,
        which is harmless."""
        if session.info.get(_WAKE_PENDING) is self:
            return
        session.info[_WAKE_PENDING] = self

        def committed(_session: Session) -> None:
            session.info.pop(_WAKE_PENDING, None)
            self.notifier.notify()

        event.listen(session, "after_commit", committed, once=True)

    def refresh(self, session: Session, key: str, now: datetime) -> None:
        """Say that the live post `key` changed: its messages are updated in place, coalesced and paced
        (`bot.outbox.live`). In the caller's transaction; wakes the workers once it commits."""
        from bot.outbox.live import refresh

        refresh(session, key, now)
        self.wake_after_commit(session)

    def enqueue(self, session: Session, *, platform: str, workspace: str, target_kind: str, target_id: str,
                message: Message, person_id: int | None = None, subject: str = "",
                dedupe_key: str | None = None, not_before: datetime | None = None) -> OutboxMessage | None:
        row = enqueue(session, platform=platform, workspace=workspace, target_kind=target_kind,
                      target_id=target_id, message=message, person_id=person_id, subject=subject,
                      dedupe_key=dedupe_key, not_before=not_before)
        if row is not None:
            self.wake_after_commit(session)
        return row

    def enqueue_many(self, session: Session, items: list[Outbound], *, subject: str, now: datetime) -> int:
        count = enqueue_many(session, items, subject=subject, now=now)
        if count:
            self.wake_after_commit(session)
        return count

    def send_to_channel(self, session: Session, settings: Settings, channel: Channel, build: Callable[[], Message],
                        *, subject: str = "", dedupe_key: str | None = None, now: datetime | None = None) -> bool:
        queued = send_to_channel(session, settings, channel, build, subject=subject, dedupe_key=dedupe_key, now=now)
        if queued:
            self.wake_after_commit(session)
        return queued

    def send_to_person(self, session: Session, settings: Settings, person_id: int, build: Callable[[], Message],
                       *, subject: str = "", dedupe_key: str | None = None, now: datetime | None = None) -> bool:
        queued = send_to_person(session, settings, person_id, build, subject=subject, dedupe_key=dedupe_key, now=now)
        if queued:
            self.wake_after_commit(session)
        return queued
