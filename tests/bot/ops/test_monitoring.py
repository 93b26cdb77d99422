"""The outbox gauges count what waits to go out, and since when; not what is scheduled later or done."""

from __future__ import annotations

from datetime import timedelta

from prometheus_client import REGISTRY
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import col

from bot.clock import FrozenClock
from bot.messages import Message
from bot.monitoring import update_outbox_gauges
from bot.outbox import enqueue
from storage.db import session_scope
from storage.tables import OutboxMessage


def add(engine: Engine, clock: FrozenClock, *, status: str = "pending", not_before_minutes: int | None = None) -> None:
    with session_scope(engine) as session:
        row = enqueue(session, platform="slack", workspace="T1", target_kind="channel", target_id="C1",
                      message=Message.text("x"),
                      not_before=clock.now() + timedelta(minutes=not_before_minutes)
                      if not_before_minutes is not None else None)
        assert isinstance(row, OutboxMessage)
        row.created_at = clock.now()
        row.status = status


def test_outbox_gauges(engine: Engine, clock: FrozenClock) -> None:
    assert update_outbox_gauges(engine, clock).pending == 0
    assert REGISTRY.get_sample_value("cercle_outbox_oldest_seconds") == 0
    add(engine, clock)  # waiting since 09:00
    clock.advance(timedelta(minutes=2))
    add(engine, clock)
    add(engine, clock, not_before_minutes=60)  # a digest for later: not late
    add(engine, clock, status="sent")
    add(engine, clock, status="failed")
    clock.advance(timedelta(seconds=30))
    figures = update_outbox_gauges(engine, clock)
    assert (figures.pending, figures.oldest_seconds, figures.failed) == (2, 150.0, 1)
    assert REGISTRY.get_sample_value("cercle_outbox_pending") == 2
    assert REGISTRY.get_sample_value("cercle_outbox_oldest_seconds") == 150.0
    assert REGISTRY.get_sample_value("cercle_outbox_failed") == 1
    clock.advance(timedelta(minutes=61))  # the scheduled one is due now, and counts
    assert update_outbox_gauges(engine, clock).pending == 3
    with session_scope(engine) as session:  # the others went out: the scheduled one has waited 90 s since its moment
        session.execute(update(OutboxMessage).where(col(OutboxMessage.next_attempt_at).is_(None))
                        .values(status="sent"))
    figures = update_outbox_gauges(engine, clock)
    assert (figures.pending, figures.oldest_seconds) == (1, 90.0)
