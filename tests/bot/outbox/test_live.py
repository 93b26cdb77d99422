"""Live post keys (bot/outbox/live.py) on SQLite and PostgreSQL: a change bumps one row, a burst keeps the
first due time, a fan-out waits its interval, and a change during a fan-out is not lost."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine

from bot.outbox import live
from storage.db import session_scope
from storage.tables import PostRefresh

T0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def bump(engine: Engine, key: str, at: datetime) -> None:
    with session_scope(engine) as session:
        live.refresh(session, key, at)


def row(engine: Engine, key: str) -> PostRefresh:
    with session_scope(engine) as session:
        found = session.get(PostRefresh, key)
        assert found is not None
        session.expunge(found)
        return found


def test_a_burst_of_changes_is_one_due_key(engine: Engine) -> None:
    for second in range(10):
        bump(engine, "crisis:1:ann:1", T0 + timedelta(seconds=second / 10))
    refreshed = row(engine, "crisis:1:ann:1")
    assert refreshed.version == 10 and refreshed.done_version == 0
    assert refreshed.due_at == T0 + live.DELAY  # the first change's delay: later ones do not push it back
    assert live.claim_keys(engine, T0 + live.DELAY - timedelta(seconds=1)) == []
    assert live.claim_keys(engine, T0 + live.DELAY) == [("crisis:1:ann:1", 10)]
    assert live.claim_keys(engine, T0 + live.DELAY) == []  # leased: another worker does not take it


def test_a_change_during_a_fan_out_is_shown_after_the_interval(engine: Engine) -> None:
    bump(engine, "idea:3", T0)
    ((key, version),) = live.claim_keys(engine, T0 + live.DELAY)
    bump(engine, "idea:3", T0 + live.DELAY)  # while the posts are being rendered
    live.finish_key(engine, key, version, T0 + live.DELAY, live.INTERVAL)
    after = row(engine, "idea:3")
    assert after.done_version == 1 and after.version == 2
    assert live.claim_keys(engine, T0 + live.DELAY + live.INTERVAL - timedelta(seconds=1)) == []
    assert live.claim_keys(engine, T0 + live.DELAY + live.INTERVAL) == [("idea:3", 2)]


def test_a_change_after_a_quiet_time_waits_only_its_delay(engine: Engine) -> None:
    bump(engine, "position:1", T0)
    ((key, version),) = live.claim_keys(engine, T0 + live.DELAY)
    live.finish_key(engine, key, version, T0 + live.DELAY, live.INTERVAL)
    later = T0 + timedelta(minutes=5)
    bump(engine, "position:1", later)
    assert row(engine, "position:1").due_at == later + live.DELAY
