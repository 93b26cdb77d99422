"""Two `cercle run` replicas on one PostgreSQL database deliver a broadcast of 1,000 rows to Slack (the fake
Web API); the leader, delivering too, gets SIGTERM mid-broadcast, as in a rolling update. It exits 0 within
its budget, gives back what it had not sent (nothing waits for a lease to run out), releases the leadership;
the other replica leads and takes its rows up within seconds, and every row reaches Slack exactly once."""

from __future__ import annotations

import re
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import col

from bot.outbox.worker import LEASE
from bot.shutdown import STOP_BUDGET
from storage.tables import OutboxMessage
from tests.fakes.slack_serve import running_fake
from tests.support.cercle_run import CercleRun, count, handover
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
