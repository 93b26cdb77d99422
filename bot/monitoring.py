"""Figures that no code path updates by itself: the outbox's depth and age, refreshed periodically.

Every replica refreshes them (the query is cheap and a follower must not show stale values), so
the figures are the same on every replica: aggregate them with `max`, not `sum`.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress
from dataclasses import dataclass

from sqlalchemy import and_, case, func, or_
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from bot import metrics
from bot.clock import Clock, SystemClock
from storage.db import session_scope
from storage.tables import OutboxMessage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OutboxFigures:
    pending: int  # due now, not yet sent
    oldest_seconds: float  # how long the oldest of them has waited (since written, or since its scheduled time)
    failed: int  # given up on


def outbox_figures(engine: Engine, clock: Clock) -> OutboxFigures:
    now = clock.now()
    with session_scope(engine) as session:
        due = (col(OutboxMessage.status) == "pending",
               or_(col(OutboxMessage.next_attempt_at).is_(None), col(OutboxMessage.next_attempt_at) <= now))
        # A row scheduled for later (a digest) waits from its moment, not from when it was written.
        waiting_since = case((and_(col(OutboxMessage.attempts) == 0, col(OutboxMessage.next_attempt_at).is_not(None),
                                   col(OutboxMessage.next_attempt_at) > col(OutboxMessage.created_at)),
                              col(OutboxMessage.next_attempt_at)), else_=col(OutboxMessage.created_at))
        count, oldest = session.exec(select(func.count(), func.min(waiting_since))
                                     .select_from(OutboxMessage).where(*due)).one()
        failed = session.exec(select(func.count()).select_from(OutboxMessage)
                              .where(col(OutboxMessage.status) == "failed")).one()
    age = max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0
    return OutboxFigures(int(count), age, int(failed))


def update_outbox_gauges(engine: Engine, clock: Clock) -> OutboxFigures:
    figures = outbox_figures(engine, clock)
    metrics.OUTBOX_DEPTH.set(figures.pending)
    metrics.OUTBOX_AGE.set(figures.oldest_seconds)
    metrics.OUTBOX_FAILED.set(figures.failed)
    return figures


async def run_outbox_gauges(engine: Engine, stop: asyncio.Event, *, clock: Clock | None = None,
                            interval: float = 15.0) -> None:
    """Refresh the outbox gauges every `interval` seconds until `stop` is set."""
    clock = clock or SystemClock()
    while not stop.is_set():
        try:
            await asyncio.to_thread(update_outbox_gauges, engine, clock)
        except Exception as exc:  # the database is away: /healthz says so; keep the last figures
            log.warning("cannot refresh the outbox gauges: %s", type(exc).__name__)
        with suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
