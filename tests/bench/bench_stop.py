"""Graceful stop: two `cercle run` replicas on PostgreSQL deliver a broadcast of 1,000 rows to the fake Slack
(in a process of its own, 20 ms an answer; the replicas pace Slack at 50 messages a second each); the leader,
delivering too, is signalled once 150 rows are out.

    python -m tests.bench.bench_stop

Figures (`tests/support/cercle_run.py: handover`), each next to its baseline measured in the same run:
- time for the other replica to resume after SIGTERM: from the signal until the other replica leads and has
  taken up (claimed or sent) every row the signalled one held; worst of three rounds. Baseline: the same
  after `kill -9` of the leader, where the rows it held wait for their lease (60 s) to run out. (It takes up
  the given-back rows as fast as its own pipeline frees room: 50 a second here.)
- the leadership handover alone. Baseline: after `kill -9`, when a follower takes over at its next try
  (every 2 s);
- SIGTERM to exit mid-broadcast. Baseline: SIGTERM to exit of an idle leader;
- rows the signalled replica left waiting for a lease. Baseline: after `kill -9`.
Every round checks that each of its 1,000 rows reached Slack exactly once.
"""

from __future__ import annotations

import logging
import signal
import time
from pathlib import Path
from tempfile import TemporaryDirectory

from bot.outbox.worker import LEASE
from bot.shutdown import STOP_BUDGET
from storage.db import make_engine
from storage.tables import OutboxMessage
from tests.bench.common import Figure, write_result
from tests.fakes.slack_serve import RemoteFake, fake_process
from tests.support.cercle_run import CercleRun, Handover, count, handover
from tests.support.databases import PostgresDatabase, postgres_reachable
from tests.support.replicas import wait

PACE = 50.0
ROUNDS = 3


def pair(folder: Path, url: str, fake: RemoteFake) -> tuple[CercleRun, CercleRun]:
    """A leader, then a follower."""
    leader = CercleRun(folder, url, fake.api_url, per_second=PACE)
    wait(leader.leads, 30, "a leader")
    follower = CercleRun(folder, url, fake.api_url, per_second=PACE)
    wait(lambda: follower.role() == "follower", 30, "a follower")
    return leader, follower


def play(folder: Path, url: str, fake: RemoteFake, tag: str, sig: signal.Signals) -> Handover:
    engine = make_engine(url)
    leader, follower = pair(folder, url, fake)
    try:
        result = handover(engine, leader, follower, rows=1000, tag=tag, sig=sig, timeout=LEASE.total_seconds() * 2)
        wait(lambda: count(engine, result.ids, OutboxMessage.status == "sent") == len(result.ids), 180,
             "the whole broadcast")
        follower.proc.send_signal(signal.SIGTERM)
        follower.proc.wait(STOP_BUDGET)
        posts = fake.posts_by_key()
        mine = {f"cercle-outbox-{i}" for i in result.ids}
        assert all(posts[k] == 1 for k in mine), f"round {tag}: a row was lost or posted twice"
        print(f"  {sig.name} round {tag}: held {result.held}, led after {result.led:.2f} s, "
              f"resumed after {result.resumed:.2f} s, "
              f"exit {result.exit_code} after {result.exited:.2f} s, {result.left_leased} left to a lease")
        return result
    finally:
        leader.stop()
        follower.stop()
        engine.dispose()


def idle_exit(folder: Path, url: str, fake: RemoteFake) -> float:
    """Seconds from SIGTERM to the exit of a leader with nothing to deliver."""
    leader, follower = pair(folder, url, fake)
    try:
        time.sleep(1.0)
        started = time.monotonic()
        leader.proc.send_signal(signal.SIGTERM)
        assert leader.proc.wait(STOP_BUDGET) == 0
        return time.monotonic() - started
    finally:
        leader.stop()
        follower.stop()


def run(url: str) -> list[Figure]:
    with TemporaryDirectory() as folder, fake_process(latency=0.02) as fake:
        idle = idle_exit(Path(folder), url, fake)
        graceful = [play(Path(folder), url, fake, f"T{n}", signal.SIGTERM) for n in range(ROUNDS)]
        killed = play(Path(folder), url, fake, "K", signal.SIGKILL)
    assert all(r.exit_code == 0 for r in graceful) and killed.exit_code == -signal.SIGKILL
    resumed = max(r.resumed for r in graceful)
    led = max(r.led for r in graceful)
    exited = max(r.exited for r in graceful)
    left = max(r.left_leased for r in graceful)
    return [
        Figure("time for the other replica to resume after SIGTERM (s) [baseline: after kill -9, rows wait "
               "for their lease]", resumed, killed.resumed, "≤ 5 s", resumed <= 5.0),
        Figure("leadership handover after SIGTERM (s) [baseline: after kill -9, at the followers' next try]",
               led, killed.led, "≤ 1 s", led <= 1.0),
        Figure("SIGTERM to exit mid-broadcast (s) [baseline: SIGTERM to exit when idle]", exited, idle,
               f"≤ {STOP_BUDGET:g} s", exited <= STOP_BUDGET),
        Figure("rows left waiting for a lease after SIGTERM [baseline: after kill -9]", left,
               killed.left_leased, "0", left == 0),
    ]


def main() -> None:
    logging.getLogger("bot").setLevel(logging.ERROR)
    problem = postgres_reachable()
    if problem:
        raise SystemExit(f"PostgreSQL unreachable ({problem}): two replicas need it")
    database = PostgresDatabase()
    try:
        write_result("stop", run(database.url))
    finally:
        database.drop()


if __name__ == "__main__":
    main()
