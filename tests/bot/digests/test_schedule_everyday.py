"""Digests a manager can see, turn off and post by hand without posting twice."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from bot.clock import FrozenClock
from bot.digests import jobs
from bot.scheduler import build_scheduler
from storage.db import session_scope
from storage.tables import AuditEntry, DigestSchedule
from tests.bot.digests.conftest import START
from tests.support.chat import Chat
from tests.support.snapshot import snapshot


def test_digest_now_twice_posts_once_per_period(town: Chat, clock: FrozenClock) -> None:
    town.ok("share garden https://example.org/soil \"Soil basics\"", user="bob")
    town.deliver()
    assert "1 channel" in town.ok("digest now garden", user="alice")
    assert len(town.deliver()) == 1
    before = snapshot(town.app.engine)
    assert "already posted for this period" in town.error("digest now garden", user="alice")
    assert snapshot(town.app.engine) == before and town.deliver() == []
    # The scheduled digest of the period is posted as usual, and the next period may be posted by hand.
    clock.set(START.replace(day=14, hour=8, minute=0, second=5))
    assert jobs.run_due(town.app.job_context()) == 1
    assert len(town.deliver()) == 1
    assert "1 channel" in town.ok("digest now garden", user="alice")


def test_schedule_alone_shows_it(town: Chat) -> None:
    assert "Only the managers" in town.error("digest schedule garden", user="bob")
    default = town.ok("digest schedule garden", user="alice")
    assert 'follows the default schedule, "0 9 * * 1" (Europe/Paris): Mondays at 9:00' in default
    assert "Next one: Jan 14, 2030, 9:00\u202fAM (Paris)" in default
    town.ok('digest schedule garden "30 17 * * 5"', user="alice")
    assert 'posted on "30 17 * * 5" (Europe/Paris). Next one: Jan 11, 2030' in town.ok(
        "digest schedule garden", user="alice")
    assert "Give the schedule with its time zone" in town.error("digest schedule garden --tz UTC", user="alice")


def test_schedule_off_stops_the_digest_until_a_schedule_is_set(town: Chat, clock: FrozenClock) -> None:
    scheduler = build_scheduler(town.app.job_context())  # a live scheduler: off removes the community's job
    town.ok('digest schedule garden "30 17 * * 5"', user="alice")
    assert scheduler.get_job("digest:1") is not None
    assert "The digest of Garden is off" in town.ok("digest schedule garden off", user="alice")
    assert scheduler.get_job("digest:1") is None
    assert "already off" in town.ok("digest schedule garden off", user="alice")
    assert "is off since Jan 7, 2030" in town.ok("digest schedule garden", user="alice")
    ctx = town.app.job_context()
    clock.set(START.replace(day=11, hour=16, minute=31))  # Friday 17:31 in Paris
    assert jobs.run_due(ctx) == 0
    clock.set(START.replace(day=14, hour=8, minute=1))  # nor on the default Monday
    assert jobs.run_due(ctx) == 0
    jobs.sync_jobs(ctx)  # a replica following the database does not bring the job back
    assert scheduler.get_job("digest:1") is None
    with session_scope(town.app.engine) as session:
        assert session.exec(select(AuditEntry).where(AuditEntry.action == "digest.off")).one()
    # A schedule turns it back on.
    town.ok('digest schedule garden "0 9 * * *"', user="alice")
    clock.set(START.replace(day=15, hour=8, minute=1))
    assert jobs.run_due(ctx) == 1
    town.ok("langue fr", user="alice")
    assert "est suspendue" in town.ok("synthèse planifier garden arrêt", user="alice")
    with session_scope(town.app.engine) as session:
        assert session.exec(select(DigestSchedule)).one().off_since is not None


def test_digest_off_for_a_community_without_own_schedule(town: Chat, clock: FrozenClock) -> None:
    town.ok("digest schedule garden off", user="alice")
    clock.set(START + timedelta(days=7, minutes=-59))  # next Monday 09:01 in Paris
    assert jobs.run_due(town.app.job_context()) == 0
    assert town.deliver() == []
