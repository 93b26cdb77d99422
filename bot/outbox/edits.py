"""The edit worker: sends the latest content of live posts in place (`Sender.update`; Slack `chat.update`,
Matrix an `m.replace` edit).

It runs beside the delivery worker (started by it, stopped with it) and follows the same design: durable
rows, claimed with a lease (PostgreSQL: `SKIP LOCKED`, so replicas share the work), paced by a `Pacer`
with the platform's own budget for edits (`PlatformDescriptor.edit_pacing`: Slack's chat.update is Tier 3,
about 50 a minute per workspace), 429s pausing the workspace for their Retry-After and counted once in
`cercle_rate_limited_total`. An edit is never sent before its post has the platform's message id; one row
per message holds only the latest content (`bot.outbox.live`), so a burst of changes makes one update,
and a post is updated at most once per `interval`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from sqlalchemy import and_, or_, update
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from bot import metrics
from bot.clock import Clock, SystemClock
from bot.messages import Message
from bot.outbox import live
from bot.outbox.contract import DeliveryError, Outgoing, OutgoingEdit, RateLimit
from bot.outbox.pacing import Pacer
from bot.outbox.wakeup import Notifier
from bot.outbox.worker import backoff
from bot.settings import Settings
from storage.db import is_postgres, session_scope
from storage.tables import OutboxEdit, OutboxMessage

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_ATTEMPTS = 10  # an update that keeps failing is dropped: the post keeps its last content
LEASE = timedelta(seconds=60)
SEND_TIMEOUT = 20.0


@dataclass
class _Outcome:
    edit: OutgoingEdit
    error: DeliveryError | None = None


class EditWorker:
    """Fans out due live keys and sends due edits. `views`: the capabilities' `LiveView`s by key kind;
    `limits`: each platform's edit budget."""

    def __init__(self, engine: Engine, senders: Mapping[str, Any], settings: Settings,
                 views: Mapping[str, live.LiveView], *, clock: Clock | None = None,
                 limits: Mapping[str, RateLimit] | None = None, delay: timedelta = live.DELAY,
                 interval: timedelta = live.INTERVAL, batch_size: int = 20, poll_interval: float = 0.5,
                 notifier: Notifier | None = None, worker_id: str | None = None) -> None:
        self.engine = engine
        self.senders = dict(senders)
        self.settings = settings
        self.views = dict(views)
        self.clock = clock or SystemClock()
        self.pacer = Pacer(limits or {})
        self.delay = delay
        self.interval = interval
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.notifier = notifier
        self.worker_id = worker_id or f"edit:{socket.gethostname()}:{os.getpid()}:{id(self):x}"[:64]
        self.updates = 0  # sent in place by this worker (figures for tests and benchmarks)
        self._stopping = False
        # Its own thread: a backlog of commands in the default executor (thousands of clicks) must not hold
        # the updates back (nor the updates the commands).
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cercle-edits")
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    def editors(self) -> list[str]:
        """Platforms whose sender can update a posted message and takes messages now."""
        return [name for name, sender in self.senders.items()
                if callable(getattr(sender, "update", None)) and getattr(sender, "ready", True)]

    # -- the database side ---------------------------------------------------------------------------
    def refresh_due(self) -> int:
        """Fan every due live key out to its posts; returns how many edits became due."""
        total = 0
        editable = [name for name, sender in self.senders.items() if callable(getattr(sender, "update", None))]
        for key, version in live.claim_keys(self.engine, self.clock.now()):
            try:
                total += live.fan_out(self.engine, self.settings, self.views, key, self.clock.now(), editable)
            except Exception:  # a view's bug must not stop the others; the key is tried again after its lease
                log.exception("could not refresh live post %s", key)
                continue
            live.finish_key(self.engine, key, version, self.clock.now(), self.interval)
        return total

    def claim(self, limit: int) -> list[OutgoingEdit]:
        """Due edits whose post has its message id, leased to this worker, oldest due first."""
        platforms = self.editors()
        if not platforms:
            return []
        now = self.clock.now()
        with session_scope(self.engine) as session:
            query = (select(OutboxEdit, OutboxMessage.platform_message_id)
                     .join(OutboxMessage, col(OutboxMessage.id) == col(OutboxEdit.original_id))
                     .where(col(OutboxEdit.version) > col(OutboxEdit.sent_version), col(OutboxEdit.due_at) <= now,
                            col(OutboxEdit.platform).in_(platforms),
                            or_(col(OutboxEdit.claimed_until).is_(None), col(OutboxEdit.claimed_until) < now),
                            and_(col(OutboxMessage.status) == "sent",
                                 col(OutboxMessage.platform_message_id).is_not(None)))
                     .order_by(col(OutboxEdit.due_at), col(OutboxEdit.original_id)).limit(limit))
            if is_postgres(self.engine):
                query = query.with_for_update(skip_locked=True, of=OutboxEdit)
            out = []
            for edit, message_id in session.exec(query):
                edit.claimed_by = self.worker_id
                edit.claimed_until = now + LEASE
                edit.attempts += 1
                out.append(OutgoingEdit(edit.original_id, edit.platform, edit.workspace, edit.target_kind,
                                        edit.target_id, str(message_id), Message.from_json(edit.body), edit.version,
                                        edit.attempts))
            return out

    def record(self, outcomes: list[_Outcome]) -> None:
        now = self.clock.now()
        with session_scope(self.engine) as session:
            for o in outcomes:
                mine = and_(col(OutboxEdit.original_id) == o.edit.original_id,
                            col(OutboxEdit.claimed_by) == self.worker_id)
                error = o.error
                if error is None:
                    values: dict[str, object] = {"sent_version": o.edit.version, "sent_at": now, "attempts": 0,
                                                 "last_error": None, "due_at": now + self.interval}
                elif error.retry_after is not None:  # a 429 is not the edit's fault
                    values = {"attempts": o.edit.attempts - 1, "due_at": now + timedelta(seconds=error.retry_after),
                              "last_error": error.reason[:500]}
                elif error.permanent or o.edit.attempts >= MAX_ATTEMPTS:  # message deleted, channel gone
                    values = {"sent_version": o.edit.version, "last_error": error.reason[:500]}
                    log.warning("update of delivery %s dropped: %s", o.edit.original_id, error.reason)
                else:
                    values = {"due_at": now + backoff(o.edit.attempts), "last_error": error.reason[:500]}
                session.execute(update(OutboxEdit).where(mine).values(claimed_by=None, claimed_until=None, **values))

    def release(self, edits: list[OutgoingEdit]) -> None:
        """Give back edits not sent (their turn would come too late, or the worker stops)."""
        if not edits:
            return
        with session_scope(self.engine) as session:
            for edit in edits:
                session.execute(update(OutboxEdit).where(col(OutboxEdit.original_id) == edit.original_id,
                                                         col(OutboxEdit.claimed_by) == self.worker_id)
                                .values(claimed_by=None, claimed_until=None, attempts=edit.attempts - 1))

    # -- sending -------------------------------------------------------------------------------------
    async def _send(self, edit: OutgoingEdit, deadline: float) -> _Outcome | None:
        paced = Outgoing(edit.original_id, edit.platform, edit.workspace, edit.target_kind, edit.target_id,
                         edit.message, edit.attempts, "")
        if self._stopping or not await self.pacer.acquire(paced, deadline):
            return None
        try:
            await asyncio.wait_for(self.senders[edit.platform].update(edit), timeout=SEND_TIMEOUT)
        except DeliveryError as exc:
            if exc.retry_after is not None:
                metrics.RATE_LIMITED.labels(edit.platform).inc()
                self.pacer.pause(edit.platform, edit.workspace, exc.retry_after)
            return _Outcome(edit, exc)
        except TimeoutError:
            return _Outcome(edit, DeliveryError("timeout"))
        except Exception as exc:  # an adapter bug must not kill the worker
            log.exception("update of delivery %s raised", edit.original_id)
            return _Outcome(edit, DeliveryError(type(exc).__name__))
        self.updates += 1
        return _Outcome(edit)

    async def _in_thread(self, func: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, func, *args)

    def _batch(self) -> int:
        """As many edits as the slowest editing platform sends in about 5 s: a round stays short, so the
        fan-out keeps up and a stopping worker is not held back by its pacing."""
        rates = [self.pacer.limits[p].per_second for p in self.editors()
                 if p in self.pacer.limits and self.pacer.limits[p].per_second > 0]
        return max(1, min([self.batch_size, *(int(r * 5) for r in rates)]))

    async def run_once(self) -> int:
        """Fan out due keys, then send one batch of due edits (paced); returns how many were sent."""
        await self._in_thread(self.refresh_due)
        edits = await self._in_thread(self.claim, self._batch())
        if not edits:
            return 0
        deadline = time.monotonic() + LEASE.total_seconds() - SEND_TIMEOUT - 1.0
        outcomes = await asyncio.gather(*(self._send(e, deadline) for e in edits))
        done = [o for o in outcomes if o is not None]
        await self._in_thread(self.record, done)
        await self._in_thread(self.release, [e for e, o in zip(edits, outcomes, strict=True) if o is None])
        return sum(1 for o in done if o.error is None)

    def _on_notify(self) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._wake.set)

    async def run(self) -> None:
        """Until stopped: a change wakes it (after its coalescing delay), else it polls."""
        self._loop = asyncio.get_running_loop()
        unsubscribe: Callable[[], None] | None = self.notifier.subscribe(self._on_notify) if self.notifier else None
        try:
            while not self._stopping:
                self._wake.clear()
                try:
                    sent = await self.run_once()
                except Exception:
                    log.exception("edit worker: a round failed; retrying")
                    sent = 0
                if sent:
                    continue
                with suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self.poll_interval)
        finally:
            if unsubscribe is not None:
                unsubscribe()

    def stop(self) -> None:
        self._stopping = True
        self._on_notify()

    async def drain(self, timeout: float) -> int:
        """Send every edit due now (tests, the console at exit); returns how many went out."""
        deadline = time.monotonic() + timeout
        sent = 0
        while time.monotonic() < deadline:
            handled = await self.run_once()
            sent += handled
            if not handled:
                return sent
        return sent
