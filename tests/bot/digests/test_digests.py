"""Digests: content, empty periods, schedules, exactly-once runs and catch-up after downtime."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from datetime import timedelta

import pytest
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.app import build, default_capabilities, default_platforms
from bot.capability import Capability, assemble
from bot.clock import FrozenClock
from bot.digest_sections import DigestBatch, DigestPart
from bot.digests import jobs, service
from bot.messages import Block, Field, Section
from bot.scheduler import build_scheduler
from bot.settings import Settings
from storage.db import session_scope
from storage.tables import DigestRun, DigestSchedule, OutboxMessage
from tests.bot.digests.conftest import START
from tests.support.chat import Chat


def seed(chat: Chat, clock: FrozenClock) -> None:
    chat.ok("share garden https://example.org/soil \"Soil basics\"", user="bob")
    chat.ok('consult open garden "Where do we meet?" "Lyon" "Paris"', user="alice")
    chat.ok("vote V1 2", user="bob")
    chat.ok('consult open garden "Budget?" "More" "Less" --hidden', user="alice")
    chat.ok('idea garden "A seed swap every spring"', user="carol")
    chat.ok("idea upvote I1", user="bob")
    clock.advance(timedelta(hours=2))
    chat.ok('idea answer I1 "Yes, in March." --status accepted', user="alice")
    chat.ok('idea garden "Night watering"', user="bob")
    chat.deliver()


def test_preview_shows_the_digest_privately_to_managers(town: Chat, clock: FrozenClock) -> None:
    seed(town, clock)
    reply = town.say("digest preview garden", user="alice")
    assert not reply.is_error and reply.visibility == "private"
    text = reply.message.plain_text()
    assert "Digest of Garden" in text
    assert "Welcome to 3 new members" in text and "bob" in text
    assert "Soil basics — https://example.org/soil" in text
    assert "V1 — Where do we meet?" in text and "2. Paris — 1 vote (100%)" in text
    assert "V2 — Budget? — results when it closes, 0 votes so far" in text
    assert "I2 — Night watering (0 upvotes)" in text
    assert "I1 — A seed swap every spring — Accepted: Yes, in March." in text
    assert "Active members: 3 — new activity" in text
    assert "New contributors: 3" in text
    assert "Median time to first answer: 2 hours" in text
    assert town.deliver() == []
    assert "Only the managers" in town.error("digest preview garden", user="bob")


def test_digest_in_french(town: Chat, clock: FrozenClock) -> None:
    seed(town, clock)
    town.ok("language fr", user="alice")
    text = town.ok("synthèse aperçu garden", user="alice")
    assert "Synthèse de Garden" in text
    assert "Bienvenue à 3 nouveaux membres" in text
    assert "Nouvelles ressources" in text
    assert "Consultations ouvertes" in text
    assert "Idées ayant reçu une réponse" in text and "Acceptée\u202f: Yes, in March." in text
    assert "Membres actifs\u202f: 3 — nouvelle activité" in text
    assert "Délai médian de première réponse\u202f: 2\u00a0heures" in text


def test_empty_period_posts_a_short_line(town: Chat, clock: FrozenClock) -> None:
    clock.advance(timedelta(days=30))
    town.ok("digest now garden", user="alice")
    sent = town.deliver()
    assert len(sent) == 1 and sent[0].target_id == "garden-room"
    assert sent[0].text.startswith("Quiet period in Garden") and "Health" not in sent[0].text


def test_digest_now_and_errors(town: Chat, clock: FrozenClock) -> None:
    seed(town, clock)
    assert "Only the managers" in town.error("digest now garden", user="bob")
    assert "no community 'nowhere'" in town.error("digest now nowhere", user="alice")
    town.ok('community create bare "Bare"', user="alice")
    assert "No channel is linked" in town.error("digest now bare", user="alice")
    assert town.deliver() == []
    assert "1 channel" in town.ok("digest now garden", user="alice")
    sent = town.deliver()
    assert len(sent) == 1 and "Digest of Garden" in sent[0].text


def test_schedule_errors_change_nothing(town: Chat) -> None:
    assert "Only the managers" in town.error('digest schedule garden "0 9 * * 1"', user="bob")
    assert "not a cron schedule" in town.error('digest schedule garden "every monday"', user="alice")
    assert "at most once an hour" in town.error('digest schedule garden "*/5 * * * *"', user="alice")
    assert "not a time zone" in town.error('digest schedule garden "0 9 * * 1" --tz Mars/Olympus', user="alice")
    with session_scope(town.app.engine) as session:
        assert session.exec(select(DigestSchedule)).all() == []


def test_scheduled_run_posts_once_per_period(town: Chat, clock: FrozenClock) -> None:
    seed(town, clock)
    ctx = town.app.job_context()
    assert jobs.run_due(ctx) == 0  # this week's Monday 09:00 (Paris) was before the community existed
    clock.set(START.replace(day=14, hour=8, minute=0, second=5))  # next Monday, 09:00:05 in Paris
    assert jobs.run_due(ctx) == 1
    assert jobs.run_due(ctx) == 0
    sent = town.deliver()
    assert len(sent) == 1 and "Digest of Garden — Jan 7, 2030 → Jan 14, 2030" in sent[0].text
    with session_scope(town.app.engine) as session:
        run = session.exec(select(DigestRun)).one()
        assert run.period_end == START.replace(day=14, hour=8) and run.channels == 1


def test_custom_schedule_and_live_job(town: Chat, clock: FrozenClock) -> None:
    scheduler = build_scheduler(town.app.job_context())
    assert scheduler.get_job("digest:default") is not None
    reply = town.ok('digest schedule garden "30 17 * * 5" --tz Europe/Paris', user="alice")
    assert "Next one: Jan 11, 2030, 5:30\u202fPM (Paris)" in reply
    job = scheduler.get_job("digest:1")
    assert job is not None and "day_of_week='fri'" in str(job.trigger) and "hour='17'" in str(job.trigger)
    ctx = town.app.job_context()
    clock.set(START.replace(day=11, hour=16, minute=29))  # Friday 17:29 in Paris: not yet
    assert jobs.run_due(ctx) == 0
    clock.set(START.replace(day=11, hour=16, minute=31))  # Friday 17:31 in Paris
    assert jobs.run_due(ctx) == 1
    assert "Digest of Garden" in town.deliver()[0].text
    clock.set(START.replace(day=14, hour=8, minute=1))  # Monday 09:01: the default schedule no longer applies
    assert jobs.run_due(ctx) == 0


def start_scheduler_once(chat: Chat) -> None:
    """Start a real scheduler as `cercle run` does, wait for its start-up catch-up job, stop it."""

    async def go() -> None:
        done = asyncio.Event()
        scheduler = build_scheduler(chat.app.job_context())
        def on_job(event: JobExecutionEvent) -> None:
            if event.job_id == jobs.CATCH_UP_JOB:
                done.set()

        scheduler.add_listener(on_job, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
        scheduler.start()
        try:
            await asyncio.wait_for(done.wait(), timeout=20)
        finally:
            scheduler.shutdown(wait=False)

    asyncio.run(go())


def test_catch_up_after_downtime_posts_once(town: Chat, clock: FrozenClock) -> None:
    seed(town, clock)
    clock.advance(timedelta(weeks=3))  # the bot was down: three Monday digests were missed
    start_scheduler_once(town)  # start: rebuild the jobs and catch up
    sent = town.deliver()
    assert len(sent) == 1 and "Jan 21, 2030 → Jan 28, 2030" in sent[0].text
    start_scheduler_once(town)  # a second start (or replica) catches nothing up again
    assert town.deliver() == []
    with session_scope(town.app.engine) as session:
        assert len(session.exec(select(DigestRun)).all()) == 1


@dataclass(frozen=True)
class Lines:
    """A test capability's part: a titled list of lines."""

    title: str
    lines: tuple[str, ...]

    @property
    def has_news(self) -> bool:
        return bool(self.lines)

    def blocks(self) -> list[Block]:
        return [Section(title=self.title, lines=self.lines)]

    def figures(self) -> list[Field]:
        return []


def test_another_capability_adds_its_section(settings: Settings, clock: FrozenClock, engine: Engine) -> None:
    """A capability contributes a digest section through its object; it shows after the communities' and
    consultations' ones, and a section that fails does not stop the digest."""
    seen: list[DigestBatch] = []

    class Jobs:
        key, order = "test-jobs", 25

        def gather(self, session: Session, batch: DigestBatch) -> dict[int, DigestPart]:
            seen.append(batch)
            return {cid: Lines("Jobs nearby", ("P3 — Python developer, Lyon",)) for cid in batch.community_ids}

    class Broken:
        key, order = "test-broken", 5

        def gather(self, session: Session, batch: DigestBatch) -> dict[int, DigestPart]:
            raise RuntimeError("a bug in another capability")

    extra = Capability("test-sections", digest_sections=(Jobs(), Broken()))
    app = build(settings, clock=clock, migrate=False, engine=engine, capabilities=(*default_capabilities(), extra))
    town = Chat(app)
    town.ok('community create garden "Garden" --topics plants,python', user="alice")
    town.ok('idea garden "A seed swap every spring"', user="alice")
    text = town.ok("digest preview garden", user="alice")
    assert [b.community_ids for b in seen] == [(1,)]
    assert "Jobs nearby" in text and "P3 — Python developer, Lyon" in text
    assert text.index("New ideas") < text.index("Jobs nearby") < text.index("Health")
    # The default application has no such section.
    assert "Jobs nearby" not in Chat(build(settings, clock=clock, migrate=False, engine=engine)).ok(
        "digest preview garden", user="alice")


def test_two_schedulers_on_postgres_post_one_digest(postgres_engine: Engine) -> None:
    clock = FrozenClock(START)
    settings = Settings(database_url=str(postgres_engine.url.render_as_string(hide_password=False)),
                        admins=(default_platforms().parse_account("console:admin"),))
    app = build(settings, clock=clock, migrate=False, engine=postgres_engine)
    chat = Chat(app)
    slugs = [f"garden-{i}" for i in range(5)]
    for slug in slugs:
        chat.ok(f'community create {slug} "Garden"', user="alice")
        chat.ok(f"community link {slug}", user="alice", channel=f"{slug}-room")
        chat.ok(f"community link {slug}", user="alice", channel=f"{slug}-2")
    clock.set(START.replace(day=14, hour=8, minute=0, second=1))
    barrier = threading.Barrier(2)
    results: list[int] = []
    errors: list[BaseException] = []

    def scheduler() -> None:
        try:
            barrier.wait()
            results.append(jobs.run_due(app.job_context()))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert sum(results) == len(slugs)
    with session_scope(postgres_engine) as session:
        assert len(session.exec(select(DigestRun)).all()) == len(slugs)
        rows = session.exec(select(OutboxMessage).where(col(OutboxMessage.subject).startswith("digest:"))).all()
        assert sorted(r.target_id for r in rows) == sorted(f"{s}-{c}" for s in slugs for c in ("room", "2"))


@pytest.mark.parametrize("cron", ["0 9 * * 1", "0 */2 * * *"])
def test_last_fire_is_at_or_before_now(cron: str) -> None:
    from bot.digests.service import last_fire

    fire = last_fire(cron, "Europe/Paris", START)
    assert fire is not None and fire <= START and START - fire < timedelta(days=7)


def test_batch_keeps_each_community_apart_and_caps_lists(town: Chat, clock: FrozenClock) -> None:
    from bot.communities.digest import CommunityNews
    from bot.consultations.digest import ConsultationNews
    from bot.digests import messaging
    from storage.tables import Community

    town.ok('community create orchard "Orchard"', user="dave")
    for i in range(12):
        town.ok("community join orchard", user=f"member{i:02d}")
    town.ok('idea garden "Only in the garden"', user="bob")
    with session_scope(town.app.engine) as session:
        batch = list(session.exec(select(Community).order_by(col(Community.id))))
        start, end = START - timedelta(days=1), START + timedelta(hours=1)
        digests = service.build_many(session, batch, start, end, town.app.assembly.digest_sections)
        garden, orchard = digests[batch[0].id or 0], digests[batch[1].id or 0]
        news = {name: next(p for p in d.parts if isinstance(p, CommunityNews))
                for name, d in (("garden", garden), ("orchard", orchard))}
        ideas = {name: next(p for p in d.parts if isinstance(p, ConsultationNews))
                 for name, d in (("garden", garden), ("orchard", orchard))}
        assert [i.text for i in ideas["garden"].new_ideas] == ["Only in the garden"]
        assert ideas["orchard"].new_ideas == []
        assert news["orchard"].new_member_count == 13 and len(news["orchard"].new_members) == 10
        text = messaging.render(orchard).plain_text()
        assert "Welcome to 13 new members" in text and "and 3 more" in text
        assert news["garden"].new_member_count == 3


def test_the_queries_of_a_batch_do_not_grow_with_it(town: Chat, clock: FrozenClock) -> None:
    """Every capability's section answers for a whole batch with a fixed number of queries: ten for the
    communities' and consultations' sections (the figure of tests/bench/bench_digests.py), two more for
    the open positions."""
    from bot.communities import CAPABILITY as COMMUNITIES
    from bot.consultations import CAPABILITY as CONSULTATIONS
    from storage.tables import Community

    seed(town, clock)
    for i in range(6):
        town.ok(f'community create c{i} "C{i}" --topics python', user=f"owner{i}")
        town.ok(f'idea c{i} "Idea {i}"', user=f"owner{i}")
        town.ok(f"share c{i} https://example.org/{i} \"R{i}\"", user=f"owner{i}")
    town.ok("role grant @admin hr", user="admin")  # admins are not HR unless they take the role
    town.ok('position open "Dev" --site Lyon --skills python', user="admin", direct=True)
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    base = assemble((COMMUNITIES, CONSULTATIONS)).digest_sections
    full = town.app.assembly.digest_sections
    start, end = START - timedelta(days=1), START + timedelta(days=1)
    with session_scope(town.app.engine) as session:
        batch = list(session.exec(select(Community).order_by(col(Community.id))))
        event.listen(town.app.engine, "before_cursor_execute", count)
        try:
            figures = {}
            for name, sections in (("base", base), ("full", full)):
                for size in (1, len(batch)):
                    statements.clear()
                    service.build_many(session, batch[:size], start, end, sections)
                    figures[name, size] = len(statements)
        finally:
            event.remove(town.app.engine, "before_cursor_execute", count)
    assert len(batch) == 7 and [s.key for s in full] == ["communities", "consultations", "positions"]
    assert figures["base", 1] == figures["base", 7] == 10
    assert figures["full", 1] == figures["full", 7] == 12


def test_digest_commands_on_unknown_communities(town: Chat) -> None:
    assert "no community 'nowhere'" in town.error("digest preview nowhere", user="alice")
    assert "no community 'nowhere'" in town.error('digest schedule nowhere "0 9 * * 1"', user="alice")
    assert "Missing argument" in town.error("digest schedule", user="alice")
