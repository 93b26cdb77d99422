"""Two `cercle run` replicas on one PostgreSQL database deliver a broadcast of 1,000 rows to Slack (the fake
Web API); the leader, delivering too, gets SIGTERM mid-broadcast, as in a rolling update. It exits 0 within
its budget, gives back what it had not sent (nothing waits for a lease to run out), releases the leadership;
the other replica leads and takes its rows up within seconds, and every row reaches Slack exactly once."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import Engine, make_url
from sqlmodel import col

from bot.outbox.worker import LEASE
from bot.shutdown import STOP_BUDGET
from storage.migrate import _LOCK_ID as MIGRATIONS_LOCK
from storage.tables import OutboxMessage
from tests.fakes.slack_serve import running_fake
from tests.support.cercle_run import ROOT, CercleRun, count, handover
from tests.support.databases import PostgresDatabase
from tests.support.replicas import wait
from tests.support.slack import BOT_TOKEN, SIGNING_SECRET

PACE = 50.0  # messages a second per replica (instead of Slack's 5): the broadcast takes about 15 s


@pytest.fixture
def replicas() -> Iterator[list[CercleRun]]:
    started: list[CercleRun] = []
    yield started
    for replica in started:
        replica.stop()


@pytest.mark.postgres_only
def test_sigterm_mid_broadcast_hands_over_at_once_and_every_row_goes_out_once(
        postgres_engine: Engine, tmp_path: Path, replicas: list[CercleRun]) -> None:
    url = postgres_engine.url.render_as_string(hide_password=False)
    with running_fake(latency=0.02) as fake:
        a = CercleRun(tmp_path, url, fake.api_url, per_second=PACE)
        replicas.append(a)
        wait(a.leads, 20, "the first replica to lead")
        b = CercleRun(tmp_path, url, fake.api_url, per_second=PACE)
        replicas.append(b)
        wait(lambda: b.role() == "follower" and b.health()["status"] == "ok", 20, "the second replica")

        result = handover(postgres_engine, a, b, rows=1000)
        print(f"held {result.held} rows, finished {result.finished}; the other replica led after {result.led:.2f} s "
              f"and resumed after {result.resumed:.2f} s; exit {result.exit_code} after {result.exited:.2f} s")

        # The signalled replica stopped cleanly, within its budget, and left no row to a lease.
        assert result.exit_code == 0, a.output()
        assert result.exited < STOP_BUDGET, f"stopping took {result.exited:.1f} s"
        assert result.left_leased == 0, "rows it held wait for their lease"
        # It finished the sends already handed to Slack and gave back the rows still waiting for their turn,
        # instead of sending all it held while stopping.
        assert result.finished < result.held, (result.finished, result.held)
        out = a.output()
        given_back = [int(n) for n in re.findall(r"delivery worker stopping: (\d+) row\(s\) given back", out)]
        assert "cercle stopped in" in out and given_back and given_back[0] > 0, out[-2000:]
        assert "Traceback" not in out and BOT_TOKEN not in out and SIGNING_SECRET not in out
        # The other one took over: it leads, and had taken up every row the first one held well before a
        # lease (60 s) could have run out.
        assert result.resumed < 10 < LEASE.total_seconds(), f"resumed after {result.resumed:.1f} s"
        assert result.led < 2.0, f"the other replica led {result.led:.2f} s after the signal"

        wait(lambda: count(postgres_engine, result.ids, OutboxMessage.status == "sent") == 1000, 120,
             "the whole broadcast")
        b.proc.send_signal(signal.SIGTERM)
        assert b.proc.wait(STOP_BUDGET) == 0, b.output()
        posts = fake.posts_by_key()

    keys = {f"cercle-outbox-{i}" for i in result.ids}
    assert set(posts) == keys, "a row was lost, or something else was posted"
    assert [k for k, n in posts.items() if n != 1] == [], "a row was posted twice"
    assert count(postgres_engine, result.ids, col(OutboxMessage.platform_message_id).is_not(None)) == 1000


@pytest.mark.postgres_only
def test_sigterm_while_the_migrations_wait_at_start_ends_the_process_at_once(tmp_path: Path) -> None:
    """Before `serve()` handles SIGTERM, `cercle run` does too (exit 143): a process that is PID 1 in a
    container would otherwise ignore it until the grace period ends in SIGKILL. Here it waits for the
    migrations' lock, held by another replica migrating."""
    database = PostgresDatabase()
    try:
        with psycopg.connect(make_url(database.url).set(drivername="postgresql").render_as_string(
                hide_password=False), autocommit=True) as other, running_fake() as fake:
            other.execute("SELECT pg_advisory_lock(%s)", (MIGRATIONS_LOCK,))
            env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MATRIX_", "CERCLE_"))}
            env.update(CERCLE_DATABASE_URL=database.url, SLACK_BOT_TOKEN=BOT_TOKEN,
                       SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_URL=fake.api_url, CERCLE_HTTP_PORT="0",
                       PYTHONPATH=str(ROOT))
            process = subprocess.Popen([sys.executable, "-m", "bot.cli", "run"], cwd=tmp_path, env=env,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            try:
                wait(lambda: waiting_for_the_lock(other), 30, "cercle run to wait for the migrations' lock")
                started = time.monotonic()
                process.send_signal(signal.SIGTERM)
                code = process.wait(10)
                took = time.monotonic() - started
            finally:
                if process.poll() is None:
                    process.kill()
                    process.wait()
            _out, err = process.communicate()
            assert (code, "Traceback" in err) == (128 + signal.SIGTERM, False), err[-2000:]
            assert took < 2.0
            assert not waiting_for_the_lock(other)
    finally:
        database.drop()


def waiting_for_the_lock(conn: psycopg.Connection[tuple[object, ...]]) -> bool:
    row = conn.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted").fetchone()
    return bool(row and row[0])
