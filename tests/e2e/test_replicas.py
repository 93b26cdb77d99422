"""Two replicas on one PostgreSQL database: one leads, the leader is killed (kill -9), the other takes over
within seconds; no digest (a real community digest, and a fast digest-like job), no delivery is done twice
or lost."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from bot.app import build, default_platforms
from bot.clock import SystemClock
from bot.messages import Message
from bot.outbox import enqueue
from bot.settings import Settings
from storage.db import session_scope
from storage.tables import Community, DigestRun, DigestSchedule, OutboxMessage
from tests.support.chat import Chat
from tests.support.replicas import Replica, lines, wait


def put(engine: Engine, n: int, tag: str) -> set[int]:
    ids = set()
    with session_scope(engine) as session:
        for i in range(n):
            row = enqueue(session, platform="file", workspace="w", target_kind="channel", target_id="general",
                          message=Message.text(f"{tag} {i}"), subject=tag)
            assert row is not None and row.id is not None
            ids.add(row.id)
    return ids


def unsent(engine: Engine) -> int:
    with session_scope(engine) as session:
        return int(session.exec(select(func.count()).select_from(OutboxMessage)
                                .where(col(OutboxMessage.status) != "sent")).one())


@pytest.fixture
def replicas(tmp_path: Path) -> Iterator[list[Replica]]:
    started: list[Replica] = []
    yield started
    for replica in started:
        replica.stop()


def community_with_a_missed_digest(engine: Engine, url: str) -> int:
    """A linked community whose hourly digest has fired since it was set up: the leader's scheduler posts it
    (the catch-up at election), once."""
    admins = (default_platforms().parse_account("console:admin"),)
    app = build(Settings(database_url=url, admins=admins), clock=SystemClock(), migrate=False, engine=engine)
    chat = Chat(app)
    chat.ok('community create garden "Garden"', user="alice")
    chat.ok("community link garden", user="alice", channel="garden-room")
    chat.ok("community join garden", user="bob")
    chat.ok('digest schedule garden "0 * * * *" --tz UTC', user="alice")
    earlier = datetime.now(UTC) - timedelta(hours=3)
    with session_scope(engine) as session:
        community = session.exec(select(Community).where(Community.slug == "garden")).one()
        community.created_at = earlier
        for schedule in session.exec(select(DigestSchedule)):
            schedule.updated_at = earlier
        assert community.id is not None
        return community.id


def digest_rows(engine: Engine, community_id: int) -> tuple[int, list[OutboxMessage]]:
    with session_scope(engine) as session:
        runs = session.exec(select(func.count()).select_from(DigestRun)
                            .where(DigestRun.community_id == community_id)).one()
        rows = list(session.exec(select(OutboxMessage).where(OutboxMessage.subject == f"digest:{community_id}")))
    return int(runs), rows


@pytest.mark.postgres_only
def test_leader_killed_the_other_takes_over_without_duplicates(postgres_engine: Engine, tmp_path: Path,
                                                              replicas: list[Replica]) -> None:
    url = postgres_engine.url.render_as_string(hide_password=False)
    garden = community_with_a_missed_digest(postgres_engine, url)
    a = Replica(tmp_path, url)
    replicas.append(a)
    wait(lambda: a.role() == "leader", 15, "the first replica to lead")
    b = Replica(tmp_path, url)
    replicas.append(b)
    time.sleep(3)  # b has tried the lock at least once
    assert (a.role(), b.role()) == ("leader", "follower")
    assert b.health()["status"] == "ok"

    # Both replicas deliver; every message goes out exactly once.
    first = put(postgres_engine, 40, "before")
    wait(lambda: unsent(postgres_engine) == 0, 30, "the first batch to be delivered")
    wait(lambda: lines(tmp_path / "jobs.log"), 15, "a digest job run")
    assert {pid for pid, *_ in lines(tmp_path / "jobs.log")} == {str(a.pid)}, "only the leader runs the scheduler"
    wait(lambda: any(r.status == "sent" for r in digest_rows(postgres_engine, garden)[1]), 30, "garden's digest")

    # The leader dies without a chance to clean up.
    os.kill(a.pid, signal.SIGKILL)
    a.proc.wait(10)
    killed_at = time.time()
    takeover = wait(lambda: b.role() == "leader", 15, "the follower to take over")
    print(f"takeover after kill -9: {takeover:.2f} s")
    assert takeover < 6, f"takeover took {takeover:.1f} s"
    wait(lambda: any(pid == str(b.pid) for pid, *_ in lines(tmp_path / "jobs.log")), 15, "b to run the digest job")
    time.sleep(1.0)  # b's catch-up of missed digests has run at its election

    second = put(postgres_engine, 40, "after")
    wait(lambda: unsent(postgres_engine) == 0, 90, "every row, including any a had claimed, to be delivered")
    time.sleep(1.5)

    jobs = lines(tmp_path / "jobs.log")
    assert all(float(t) <= killed_at for pid, _p, t in jobs if pid == str(a.pid))
    b_runs = [float(t) for pid, _p, t in jobs if pid == str(b.pid)]
    assert b_runs and min(b_runs) >= killed_at, "the follower ran the scheduler while the leader was alive"

    # The survivor shuts down cleanly on SIGTERM; then nothing moves and the books can be compared.
    b.proc.send_signal(signal.SIGTERM)
    assert b.proc.wait(20) == 0, b.output()

    sent = Counter(int(row_id) for row_id, _pid in lines(tmp_path / "sent.log"))
    duplicates = {row_id: n for row_id, n in sent.items() if n > 1}
    assert duplicates == {}, f"delivered more than once: {duplicates}"
    with session_scope(postgres_engine) as session:
        rows = list(session.exec(select(OutboxMessage)))
    assert set(sent) == {r.id for r in rows if r.status == "sent"}, "a delivery was not recorded, or lost"
    assert first | second <= set(sent)
    late = [r for r in rows if r.status != "sent"]
    assert len(late) <= 1 and all(r.subject.startswith("digest:") for r in late), "only a digest written " \
        "during the shutdown may wait for the next start"
    runs, garden_rows = digest_rows(postgres_engine, garden)
    assert runs == 1 and len(garden_rows) == 1 and garden_rows[0].status == "sent", "garden's digest, once"
    assert garden_rows[0].subject == f"digest:{garden}"
    assert "Garden" not in garden_rows[0].body  # delivered: its text is no longer kept (bot/outbox/residue.py)
    assert sent[garden_rows[0].id or 0] == 1
    digests = [r.dedupe_key for r in rows if r.subject.startswith("digest:") and r.subject != f"digest:{garden}"]
    assert len(digests) == len(set(digests)) >= 2
    assert {int(p) for _pid, p, _t in jobs} <= {int(str(k).split(":")[1]) for k in digests}, \
        "one digest per period that ran"
