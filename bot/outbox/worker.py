"""The delivery worker: claims due outbox rows and sends them, exactly once across crashes and replicas.

Workers claim due rows (PostgreSQL: `FOR UPDATE SKIP LOCKED`, so replicas share the work; SQLite: one
worker), hand each to the platform's `Sender`, and record the platform's message id. A failed send is
retried with backoff, honouring `Retry-After`.

Exactly once: a claim is a lease. A row whose lease ran out without an outcome (the worker died between
the platform accepting and the row being marked), or whose send ended without a clear answer (timeout,
5xx, lost connection), is handed to the next worker with `Outgoing.in_doubt`: the sender must then look
for the message it may already have posted, by the row's idempotency key (Matrix: the transaction id;
Slack: the message metadata, looked up in the conversation's history), and return its id instead of
posting again. A worker never starts a send it could not finish well within its lease.

Up to `concurrency` rows are in flight at once, at most `per_target_inflight` per target (sent one after
the other, in order), so one slow or throttled channel never holds the others back (pacing: see
`bot.outbox.pacing`). The worker is the one place that counts deliveries and 429s in the metrics.

Stopping (`stop()`, e.g. on SIGTERM) leaves no row waiting for a lease: rows still waiting for their turn
are given back at once, sends already handed to the platform get `stop_grace` seconds to finish and be
recorded, and those still running then are cancelled and given back in doubt (`bot.outbox.release`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import time
from collections import Counter
from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, bindparam, func, or_, update
from sqlalchemy.engine import Engine
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, SQLModel, col, select

from bot import metrics
from bot.clock import Clock, SystemClock
from bot.messages import Message
from bot.monitoring import update_outbox_gauges
from bot.outbox.contract import DeliveryError, Outgoing, RateLimit, Sender
from bot.outbox.pacing import Pacer
from bot.outbox.release import release
from bot.outbox.residue import forget_recipient, residue
from bot.outbox.wakeup import Notifier
from storage.db import is_postgres, session_scope
from storage.tables import OutboxMessage

if TYPE_CHECKING:
    from bot.outbox.edits import EditWorker
    from bot.outbox.guard import Guards

log = logging.getLogger(__name__)

# A platform outage of up to about 2¾ hours is ridden out (backoff 1 s, 2 s, 4 s... then every 5 minutes);
# 429s do not count. Past that the row is marked failed and shows as such in status figures.
MAX_ATTEMPTS = 40
LEASE = timedelta(seconds=60)
SEND_TIMEOUT = 20.0  # seconds; a send never outlives its lease
STOP_GRACE = 5.0  # seconds a stopping worker lets the sends already handed to the platform finish


@dataclass
class _Result:
    item: Outgoing
    message_id: str | None = None
    error: DeliveryError | None = None


def backoff(attempts: int) -> timedelta:
    """Exponential backoff with jitter: about 1 s, 2 s, 4 s... capped at 5 minutes."""
    base = min(300.0, 2.0 ** max(0, attempts - 1))
    return timedelta(seconds=base * (0.8 + 0.4 * random.random()))


def _due(now: datetime) -> ColumnElement[bool]:
    """Rows to send now: never scheduled (due at once), or scheduled for a moment that has come."""
    return or_(col(OutboxMessage.next_attempt_at).is_(None), col(OutboxMessage.next_attempt_at) <= now)


class DeliveryWorker:
    """Claims due rows and sends them through the platform's sender, keeping the pipeline full.
    `limits`: each platform's pace, from the caller; `notifier`: the application's outbox wake-up
    (`Outbox.notifier`), so rows written by this process go out without waiting for a poll; `guard`: the
    capabilities' delivery guards (`Assembly.delivery_guards`), asked about each claimed private row."""

    def __init__(self, engine: Engine, senders: dict[str, Sender], *, clock: Clock | None = None,
                 batch_size: int = 50, poll_interval: float = 1.0, concurrency: int = 64,
                 worker_id: str | None = None, limits: Mapping[str, RateLimit] | None = None,
                 lease: timedelta = LEASE, send_timeout: float = SEND_TIMEOUT,
                 per_target_inflight: int = 2, notifier: Notifier | None = None,
                 stop_grace: float = STOP_GRACE, edits: EditWorker | None = None,
                 guard: Guards | None = None) -> None:
        self.engine = engine
        self.senders = senders
        self.clock = clock or SystemClock()
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.concurrency = concurrency
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"[:64]
        self.lease = lease
        self.send_timeout = min(send_timeout, lease.total_seconds() / 3)
        self.per_target_inflight = per_target_inflight
        self.pacer = Pacer(limits or {})
        self.notifier = notifier
        self.stop_grace = stop_grace
        self.edits = edits  # live posts updated in place (bot.outbox.edits), run beside this worker
        self.guard = guard  # the capabilities' delivery guards: who may still receive a private row
        self._wake = asyncio.Event()
        self._stopping = False
        self._sending: set[int] = set()  # rows handed to their platform, no answer yet
        self._parked: dict[int, Outgoing] = {}  # claimed rows not sent, left for their lease to run out
        self._loop: asyncio.AbstractEventLoop | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._results: list[_Result] = []
        self._inflight: Counter[tuple[str, str, str, str]] = Counter()
        self._target_locks: dict[tuple[str, str, str, str], asyncio.Lock] = {}
        self._last_gauges = 0.0

    def _on_notify(self) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._wake.set)

    # -- the database side ---------------------------------------------------------------------------
    def claim(self, limit: int | None = None, busy: frozenset[str] = frozenset()) -> list[Outgoing]:
        """Take up to `limit` due rows for this worker (a lease, so a dead worker's rows return), at most
        `per_target_inflight` per target, none for the targets in `busy` (already at that cap here)."""
        limit = self.batch_size if limit is None else limit
        now = self.clock.now()
        platforms = self.ready_platforms()
        if not platforms:
            return []
        with session_scope(self.engine) as session:
            due = and_(col(OutboxMessage.status) == "pending", _due(now),
                       col(OutboxMessage.platform).in_(platforms),
                       or_(col(OutboxMessage.claimed_until).is_(None), col(OutboxMessage.claimed_until) < now))
            query = select(OutboxMessage).where(due)
            if busy and len(busy) <= 500:
                query = query.where(col(OutboxMessage.target_id).not_in(list(busy)))
            query = query.order_by(col(OutboxMessage.id)).limit(limit * 4)
            if is_postgres(self.engine):
                query = query.with_for_update(skip_locked=True)
            per_target: Counter[str] = Counter()
            rows: list[tuple[OutboxMessage, bool]] = []
            for row in session.exec(query):
                if len(rows) >= limit:
                    break
                key = f"{row.platform}|{row.workspace}|{row.target_kind}|{row.target_id}"
                if per_target[key] >= self.per_target_inflight:
                    continue
                per_target[key] += 1
                rows.append((row, row.claimed_until is not None))  # in doubt: claimed before, never an outcome
                row.claimed_by = self.worker_id
                row.claimed_until = now + self.lease
                row.attempts += 1
            # Last check of private rows: is their recipient still entitled to them (bot.outbox.guard)?
            refused = self.guard.screen(session, [r for r, _ in rows], now) if self.guard is not None else set()
            return [Outgoing(row.id or 0, row.platform, row.workspace, row.target_kind, row.target_id,
                             Message.from_json(row.body), row.attempts, row.subject, in_doubt, row.created_at)
                    for row, in_doubt in rows if row.id not in refused]

    def ready_platforms(self) -> list[str]:
        """The platforms whose sender takes messages now: a sender may say it does not (`Sender.ready`
        False: the Matrix sender on a replica that does not lead), and its rows wait for one that does."""
        return [name for name, sender in self.senders.items() if getattr(sender, "ready", True)]

    def record(self, results: list[_Result]) -> None:
        """Write the outcomes of several sends in one transaction (only rows this worker still holds)."""
        if not results:
            return
        now = self.clock.now()
        sent = [{"row_id": r.item.id, "worker": self.worker_id, "mid": r.message_id, "kept": residue(r.item.message)}
                for r in results if r.error is None]
        with session_scope(self.engine) as session:
            if sent:
                table = SQLModel.metadata.tables["outboxmessage"]
                session.connection().execute(
                    update(table).where(table.c.id == bindparam("row_id"), table.c.claimed_by == bindparam("worker"))
                    .values(status="sent", platform_message_id=bindparam("mid"), sent_at=now, claimed_until=None,
                            last_error=None, body=bindparam("kept"), **forget_recipient(table)), sent)
            for r in results:
                if r.error is not None:
                    self._record_failure(session, r.item, r.error, now)

    def _record_failure(self, session: Session, item: Outgoing, error: DeliveryError, now: datetime) -> None:
        rate_limited = error.retry_after is not None
        attempts = item.attempts - 1 if rate_limited else item.attempts  # a 429 is not the message's fault
        final = error.permanent or attempts >= MAX_ATTEMPTS
        delay = timedelta(seconds=error.retry_after) if error.retry_after is not None else backoff(item.attempts)
        session.execute(update(OutboxMessage).where(col(OutboxMessage.id) == item.id,
                                                    col(OutboxMessage.claimed_by) == self.worker_id)
                        .values(status="failed" if final else "pending", last_error=error.reason[:500],
                                attempts=attempts, next_attempt_at=now + delay,
                                # uncertain: keep a claim mark, so the next attempt checks before posting
                                claimed_until=(now + delay) if error.uncertain else None))
        metrics.DELIVERIES.labels(item.platform, "failed" if final else "retry").inc()
        log.warning("delivery %s to %s %s failed (attempt %d%s): %s", item.id, item.platform, item.target_kind,
                    item.attempts, ", giving up" if final else "", error.reason)

    def record_sent(self, item: Outgoing, platform_message_id: str) -> None:
        self.record([_Result(item, message_id=platform_message_id)])

    def record_failure(self, item: Outgoing, error: DeliveryError) -> None:
        self.record([_Result(item, error=error)])

    # -- sending -------------------------------------------------------------------------------------------
    async def send_one(self, item: Outgoing, claimed_at: float) -> _Result | None:
        """Pace, then send within the lease. None: not sent, left for a later claim."""
        deadline = claimed_at + self.lease.total_seconds() - self.send_timeout - 1.0
        if not await self.pacer.acquire(item, deadline):
            return None  # its turn would come too late for this lease: the row returns when the lease ends
        if self._stopping:
            return None  # never handed to the platform: the stopping worker gives it back
        sender = self.senders[item.platform]
        self._sending.add(item.id)
        try:
            message_id = await asyncio.wait_for(sender.send(item), timeout=self.send_timeout)
        except DeliveryError as exc:
            if exc.retry_after is not None:
                metrics.RATE_LIMITED.labels(item.platform).inc()
                self.pacer.pause(item.platform, item.workspace, exc.retry_after)
            return _Result(item, error=exc)
        except TimeoutError:
            return _Result(item, error=DeliveryError("timeout", uncertain=True))
        except Exception as exc:  # an adapter bug must not kill the worker; the row is retried, in doubt
            log.exception("delivery %s raised", item.id)
            return _Result(item, error=DeliveryError(type(exc).__name__, uncertain=True))
        finally:
            self._sending.discard(item.id)
        metrics.DELIVERIES.labels(item.platform, "sent").inc()
        return _Result(item, message_id=message_id)

    async def _track(self, item: Outgoing, claimed_at: float) -> None:
        key = (item.platform, item.workspace, item.target_kind, item.target_id)
        self._inflight[key] += 1
        lock = self._target_locks.setdefault(key, asyncio.Lock())
        try:
            async with lock:  # one send at a time per target, in claim (id) order: an update never overtakes
                result = await self.send_one(item, claimed_at)
            if result is not None:
                self._results.append(result)
            else:
                self._parked[item.id] = item
        finally:
            self._inflight[key] -= 1
            if self._inflight[key] <= 0:
                del self._inflight[key]
                self._target_locks.pop(key, None)

    async def flush(self) -> None:
        results, self._results = self._results, []
        if results:
            try:
                await asyncio.to_thread(self.record, results)
            except Exception:
                # Unrecorded outcomes are safe: their leases run out and the next attempt is in doubt.
                log.exception("could not record %d delivery outcomes", len(results))

    def _busy(self) -> frozenset[str]:
        return frozenset(k[3] for k, n in self._inflight.items() if n >= self.per_target_inflight)

    async def run_once(self) -> int:
        """Claim and deliver one batch; returns how many rows were handled."""
        items = await asyncio.to_thread(self.claim, self.batch_size)
        if not items:
            return 0
        claimed_at = time.monotonic()
        await asyncio.gather(*(self._track(i, claimed_at) for i in items))
        await self.flush()
        return len(items)

    async def run(self) -> None:
        """Deliver until stopped: keep up to `concurrency` rows in flight, waking on new rows or polling."""
        self._loop = asyncio.get_running_loop()
        if self.notifier is not None:
            self._unsubscribe = self.notifier.subscribe(self._on_notify)
        tasks: dict[asyncio.Task[None], Outgoing] = {}
        editing = asyncio.create_task(self.edits.run()) if self.edits is not None else None
        last_flush = time.monotonic()
        try:
            while not self._stopping:
                self._wake.clear()
                room = self.concurrency - len(tasks)
                claimed = 0
                if room > 0:
                    try:
                        items = await asyncio.to_thread(self.claim, min(room, max(self.batch_size, room)),
                                                        self._busy())
                    except Exception:
                        log.exception("delivery worker could not claim; retrying")
                        items = []
                    claimed_at = time.monotonic()
                    for item in items:
                        self._parked.pop(item.id, None)
                        task = asyncio.create_task(self._track(item, claimed_at))
                        tasks[task] = item
                        task.add_done_callback(tasks.pop)
                    claimed = len(items)
                now = time.monotonic()
                if self._results and (len(self._results) >= 100 or now - last_flush >= 0.05 or not tasks):
                    await self.flush()
                    last_flush = now
                await self._update_gauges()
                if claimed and len(tasks) < self.concurrency:
                    await asyncio.sleep(0)
                    continue
                wake = asyncio.ensure_future(self._wake.wait())
                waiters: set[asyncio.Future[Any]] = {wake, *tasks}
                timeout = 0.05 if (tasks or self._results) else self.poll_interval
                await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
                wake.cancel()
        finally:
            self._stopping = True
            if editing is not None and self.edits is not None:  # an edit is idempotent: cut off, it is sent again
                self.edits.stop()
                editing.cancel()
                await asyncio.gather(editing, return_exceptions=True)
            await self._wind_down(dict(tasks))
            if self._unsubscribe is not None:
                self._unsubscribe()

    async def _wind_down(self, tasks: dict[asyncio.Task[None], Outgoing]) -> None:
        """Stopping: rows not yet handed to the platform are given back at once; sends in progress get
        `stop_grace` seconds, then are cancelled and given back in doubt. Outcomes are recorded first."""
        live = {task: item for task, item in tasks.items() if not task.done()}
        waiting = {task: item for task, item in live.items() if item.id not in self._sending}
        sending = {task: item for task, item in live.items() if item.id in self._sending}
        for task in waiting:
            task.cancel()
        cut_off: list[Outgoing] = []
        if sending:
            _done, late = await asyncio.wait(sending, timeout=self.stop_grace)
            for task in late:
                task.cancel()
                cut_off.append(sending[task])
        await asyncio.gather(*live, return_exceptions=True)
        unsent = {item.id: item for item in waiting.values()}
        unsent.update(self._parked)  # left for their lease to run out (turn too late, or stopping)
        self._parked.clear()
        for item in cut_off:
            unsent.pop(item.id, None)
        await self.flush()
        if unsent or cut_off:
            try:
                count = await asyncio.to_thread(release, self.engine, self.worker_id, self.clock.now(),
                                                list(unsent.values()), cut_off)
                log.info("delivery worker stopping: %d row(s) given back (%d cut off while sending, looked for "
                         "before their next post)", count, len(cut_off))
            except Exception:  # the database is away: the leases run out instead, and the rows return then
                log.exception("could not give back %d claimed row(s); they return when their lease ends",
                              len(unsent) + len(cut_off))

    async def _update_gauges(self) -> None:
        now = time.monotonic()
        if now - self._last_gauges < 5.0:
            return
        self._last_gauges = now
        with suppress(Exception):  # one definition of the figures for every writer (bot.monitoring)
            await asyncio.to_thread(update_outbox_gauges, self.engine, self.clock)

    def backlog(self) -> tuple[int, datetime | None]:
        """Pending rows of these senders, and the creation time of the oldest."""
        with session_scope(self.engine) as session:
            row = session.exec(select(func.count(), func.min(OutboxMessage.created_at)).where(
                OutboxMessage.status == "pending", col(OutboxMessage.platform).in_(list(self.senders)))).one()
            oldest = row[1]
            return int(row[0]), (oldest.replace(tzinfo=UTC) if oldest is not None and oldest.tzinfo is None else oldest)

    def stop(self) -> None:
        self._stopping = True
        self._on_notify()

    def pending_count(self) -> int:
        """Rows of these senders that are due now (scheduled later ones, and those of a sender that is not
        ready, are not counted: this worker would not take them)."""
        now = self.clock.now()
        with session_scope(self.engine) as session:
            rows = session.exec(select(func.count()).select_from(OutboxMessage).where(
                OutboxMessage.status == "pending", _due(now),
                col(OutboxMessage.platform).in_(self.ready_platforms())))
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
