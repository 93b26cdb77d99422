"""The outbox: durable, idempotent, rate-limited delivery of outgoing messages (design §2).

A capability never sends a message itself. It writes one outbox row per (message, target) in
the transaction of the change that caused it (`enqueue`). Delivery workers claim due rows
(PostgreSQL: `FOR UPDATE SKIP LOCKED`, so replicas share the work; SQLite: one worker), hand
each to the platform's `Sender`, and record the platform's message id. A failed send is
retried with backoff, honouring `Retry-After`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import threading
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import and_, func, or_, update
from sqlalchemy.engine import Engine
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from bot.clock import Clock, SystemClock
from bot.messages import Message
from storage.db import is_postgres, session_scope
from storage.tables import OutboxMessage

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
LEASE = timedelta(seconds=60)


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


class DeliveryError(Exception):
    """A send that did not go through. `retry_after` (seconds) when the platform said when to retry;
    `permanent` when retrying cannot help (channel gone, bot removed)."""

    def __init__(self, reason: str, *, retry_after: float | None = None, permanent: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.permanent = permanent


class Sender(Protocol):
    """What an adapter offers the delivery worker."""

    platform: str

    async def send(self, item: Outgoing) -> str:
        """Post the message; return the platform's message id. Raise DeliveryError on failure."""
        ...


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
                        person_id=person_id, subject=subject, dedupe_key=dedupe_key, body=message.to_json())
    if not_before is not None:
        row.next_attempt_at = not_before
    session.add(row)
    session.flush()
    NOTIFIER.notify()
    return row


class _Notifier:
    """Wakes the workers of this process when a row is written, so delivery does not wait for a poll."""

    def __init__(self) -> None:
        self._listeners: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    def subscribe(self, listener: Callable[[], None]) -> Callable[[], None]:
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def notify(self) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener()


NOTIFIER = _Notifier()


def backoff(attempts: int) -> timedelta:
    """Exponential backoff with jitter: about 1 s, 2 s, 4 s... capped at 5 minutes."""
    base = min(300.0, 2.0 ** max(0, attempts - 1))
    return timedelta(seconds=base * (0.8 + 0.4 * random.random()))


def _due(now: datetime) -> ColumnElement[bool]:
    """Rows to send now: never scheduled (due at once), or scheduled for a moment that has come."""
    return or_(col(OutboxMessage.next_attempt_at).is_(None), col(OutboxMessage.next_attempt_at) <= now)


class DeliveryWorker:
    """Claims due rows and sends them through the platform's sender."""

    def __init__(self, engine: Engine, senders: dict[str, Sender], *, clock: Clock | None = None,
                 batch_size: int = 50, poll_interval: float = 1.0, concurrency: int = 8,
                 worker_id: str | None = None) -> None:
        self.engine = engine
        self.senders = senders
        self.clock = clock or SystemClock()
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.concurrency = concurrency
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self._wake = asyncio.Event()
        self._stopping = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._unsubscribe: Callable[[], None] | None = None

    def _on_notify(self) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._wake.set)

    def claim(self) -> list[Outgoing]:
        """Take up to `batch_size` due rows for this worker (a lease, so a dead worker's rows return)."""
        now = self.clock.now()
        platforms = list(self.senders)
        with session_scope(self.engine) as session:
            due = and_(col(OutboxMessage.status) == "pending", _due(now),
                       col(OutboxMessage.platform).in_(platforms),
                       or_(col(OutboxMessage.claimed_until).is_(None), col(OutboxMessage.claimed_until) < now))
            query = select(OutboxMessage).where(due).order_by(col(OutboxMessage.id)).limit(self.batch_size)
            if is_postgres(self.engine):
                query = query.with_for_update(skip_locked=True)
            rows = list(session.exec(query))
            items = []
            for row in rows:
                row.claimed_by = self.worker_id
                row.claimed_until = now + LEASE
                row.attempts += 1
                items.append(Outgoing(row.id or 0, row.platform, row.workspace, row.target_kind, row.target_id,
                                      Message.from_json(row.body), row.attempts, row.subject))
            return items

    def record_sent(self, item: Outgoing, platform_message_id: str) -> None:
        with session_scope(self.engine) as session:
            session.execute(update(OutboxMessage).where(col(OutboxMessage.id) == item.id,
                                                        col(OutboxMessage.claimed_by) == self.worker_id)
                            .values(status="sent", platform_message_id=platform_message_id,
                                    sent_at=self.clock.now(), claimed_until=None, last_error=None))

    def record_failure(self, item: Outgoing, error: DeliveryError) -> None:
        now = self.clock.now()
        final = error.permanent or item.attempts >= MAX_ATTEMPTS
        delay = timedelta(seconds=error.retry_after) if error.retry_after is not None else backoff(item.attempts)
        with session_scope(self.engine) as session:
            session.execute(update(OutboxMessage).where(col(OutboxMessage.id) == item.id,
                                                        col(OutboxMessage.claimed_by) == self.worker_id)
                            .values(status="failed" if final else "pending", last_error=error.reason[:500],
                                    next_attempt_at=now + delay, claimed_until=None))
        log.warning("delivery %s to %s %s failed (attempt %d%s): %s", item.id, item.platform, item.target_kind,
                    item.attempts, ", giving up" if final else "", error.reason)

    async def deliver(self, item: Outgoing) -> None:
        sender = self.senders[item.platform]
        try:
            message_id = await sender.send(item)
        except DeliveryError as exc:
            await asyncio.to_thread(self.record_failure, item, exc)
            return
        except Exception as exc:  # an adapter bug must not kill the worker; the row is retried
            log.exception("delivery %s raised", item.id)
            await asyncio.to_thread(self.record_failure, item, DeliveryError(type(exc).__name__))
            return
        await asyncio.to_thread(self.record_sent, item, message_id)

    async def run_once(self) -> int:
        """Claim and deliver one batch; returns how many rows were handled."""
        items = await asyncio.to_thread(self.claim)
        if not items:
            return 0
        limit = asyncio.Semaphore(self.concurrency)

        async def one(item: Outgoing) -> None:
            async with limit:
                await self.deliver(item)

        await asyncio.gather(*(one(i) for i in items))
        return len(items)

    async def run(self) -> None:
        """Deliver until stopped: wake on new rows in this process, otherwise poll."""
        self._loop = asyncio.get_running_loop()
        self._unsubscribe = NOTIFIER.subscribe(self._on_notify)
        try:
            while not self._stopping:
                self._wake.clear()
                try:
                    handled = await self.run_once()
                except Exception:
                    log.exception("delivery worker error; retrying")
                    handled = 0
                if handled:
                    continue
                with suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self.poll_interval)
        finally:
            if self._unsubscribe is not None:
                self._unsubscribe()

    def stop(self) -> None:
        self._stopping = True
        self._on_notify()

    def pending_count(self) -> int:
        """Rows of these senders that are due now (scheduled later ones are not counted)."""
        now = self.clock.now()
        with session_scope(self.engine) as session:
            rows = session.exec(select(func.count()).select_from(OutboxMessage).where(
                OutboxMessage.status == "pending", _due(now),
                col(OutboxMessage.platform).in_(list(self.senders))))
            return int(rows.one())

    async def drain(self, timeout: float) -> bool:
        """Deliver until nothing due is left for these senders, or `timeout` seconds pass."""
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            handled = await self.run_once()
            if not handled:
                if await asyncio.to_thread(self.pending_count) == 0:
                    return True
                await asyncio.sleep(0.05)
        return False
