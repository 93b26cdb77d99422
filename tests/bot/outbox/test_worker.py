"""The outbox delivers every row exactly once: across kill -9, lease expiry, two workers, 429s and 500s,
through the real Slack sender and the fake Slack Web API."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import col, func, select

from adapters.slack.app import make_client
from adapters.slack.sender import SlackSender
from bot import metrics
from bot.clock import FrozenClock
from bot.messages import Message
from bot.outbox import Outgoing, RateLimit, enqueue
from bot.outbox.worker import DeliveryWorker
from storage.db import session_scope
from storage.tables import OutboxMessage
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_serve import running_fake

ROOT = Path(__file__).resolve().parents[3]


def slack_sender(fake: FakeSlack) -> SlackSender:
    return SlackSender(make_client("xoxb-test", fake.api_url))


def broadcast(engine: Engine, n: int, *, at: datetime | None = None, prefix: str = "C") -> None:
    with session_scope(engine) as session:
        for i in range(n):
            enqueue(session, platform="slack", workspace="T1", target_kind="channel", target_id=f"{prefix}{i:05d}",
                    message=Message.text(f"announcement {i}"), subject="crisis:1:ann:1", not_before=at)


def statuses(engine: Engine) -> dict[str, int]:
    with session_scope(engine) as session:
        rows = session.exec(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all()
        return {s: int(n) for s, n in rows}


def keys(engine: Engine) -> set[str]:
    with session_scope(engine) as session:
        return {f"cercle-outbox-{i}" for i in session.exec(select(OutboxMessage.id))}


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def start_worker(database_url: str, api_url: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "tests.support.outbox_worker", database_url, api_url, "2"],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def test_kill_9_mid_broadcast_then_restart_delivers_each_row_exactly_once(engine: Engine, database_url: str) -> None:
    broadcast(engine, 1000)
    with running_fake(latency=0.003) as fake:
        first = start_worker(database_url, fake.api_url)
        try:
            wait_for(lambda: fake.total_posts >= 300, 60, "300 posts")
        finally:
            os.kill(first.pid, signal.SIGKILL)
            first.wait(10)
        posted_at_kill = fake.total_posts
        assert posted_at_kill < 1000, "the worker finished before it could be killed"
        with session_scope(engine) as session:
            unresolved = session.exec(select(func.count()).select_from(OutboxMessage).where(
                OutboxMessage.status == "pending", col(OutboxMessage.claimed_until).is_not(None))).one()
        assert unresolved > 0, "nothing was in flight at the kill"
        second = start_worker(database_url, fake.api_url)
        try:
            wait_for(lambda: statuses(engine).get("sent", 0) == 1000, 120, "every row sent")
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(10)
        assert statuses(engine) == {"sent": 1000}
        posts = fake.posts_by_key()
        assert set(posts) == keys(engine)
        assert [k for k, n in posts.items() if n != 1] == []
        assert fake.calls_to("conversations.history")  # rows in doubt were checked, not blindly re-posted
    with session_scope(engine) as session:
        assert session.exec(select(func.count()).select_from(OutboxMessage).where(
            col(OutboxMessage.platform_message_id).is_(None))).one() == 0


def test_a_lease_that_runs_out_after_the_platform_accepted_does_not_duplicate(engine: Engine) -> None:
    clock = FrozenClock(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    broadcast(engine, 10, at=clock.now())

    async def go(fake: FakeSlack) -> None:
        await fake.start()
        sender = slack_sender(fake)
        dead = DeliveryWorker(engine, {"slack": sender}, clock=clock, worker_id="dead")
        items = await asyncio.to_thread(dead.claim, 10)
        assert len(items) == 10 and not any(i.in_doubt for i in items)
        for item in items[:5]:  # the platform accepts five, then the worker dies before recording anything
            await sender.send(item)
        clock.advance(timedelta(seconds=61))
        alive = DeliveryWorker(engine, {"slack": sender}, clock=clock, worker_id="alive")
        assert await alive.run_once() == 10
        await asyncio.to_thread(dead.record_sent, items[0], "zombie")  # a late answer of the dead one is ignored
        await fake.stop()

    fake = FakeSlack()
    asyncio.run(go(fake))
    assert statuses(engine) == {"sent": 10}
    assert sorted(fake.posts_by_key().values()) == [1] * 10
    assert len(fake.calls_to("conversations.history")) == 10  # all ten were in doubt, and looked for
    with session_scope(engine) as session:
        assert "zombie" not in set(session.exec(select(OutboxMessage.platform_message_id)))


@pytest.mark.postgres_only
def test_two_workers_on_postgres_share_the_rows_without_duplicates(postgres_engine: Engine) -> None:
    broadcast(postgres_engine, 400)

    async def go(fake: FakeSlack) -> None:
        await fake.start()
        workers = [DeliveryWorker(postgres_engine, {"slack": slack_sender(fake)}, worker_id=f"w{i}",
                                  batch_size=20, concurrency=16, poll_interval=0.05) for i in range(2)]
        tasks = [asyncio.create_task(w.run()) for w in workers]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and await asyncio.to_thread(lambda: statuses(postgres_engine)) != {
                "sent": 400}:
            await asyncio.sleep(0.05)
        for w in workers:
            w.stop()
        await asyncio.gather(*tasks)
        await fake.stop()

    fake = FakeSlack(latency=0.002)
    asyncio.run(go(fake))
    assert statuses(postgres_engine) == {"sent": 400}
    posts = fake.posts_by_key()
    assert set(posts) == keys(postgres_engine) and set(posts.values()) == {1}
    with session_scope(postgres_engine) as session:
        by_worker = dict(session.exec(select(OutboxMessage.claimed_by, func.count())
                                      .group_by(OutboxMessage.claimed_by)).all())
    assert set(by_worker) == {"w0", "w1"} and all(n > 20 for n in by_worker.values()), by_worker


def test_429_and_500_are_retried_and_every_row_is_delivered_once(engine: Engine) -> None:
    broadcast(engine, 6)
    limited_before = metrics.RATE_LIMITED.labels("slack")._value.get()
    sent_before = metrics.DELIVERIES.labels("slack", "sent")._value.get()
    retried_before = metrics.DELIVERIES.labels("slack", "retry")._value.get()

    async def go(fake: FakeSlack) -> None:
        await fake.start()
        worker = DeliveryWorker(engine, {"slack": slack_sender(fake)}, poll_interval=0.05)
        depth, oldest = await asyncio.to_thread(worker.backlog)  # what the outbox gauges show
        assert depth == 6 and oldest is not None
        task = asyncio.create_task(worker.run())
        await asyncio.sleep(0.2)
        assert metrics.OUTBOX_DEPTH._value.get() == 6  # set on the first round, before anything was sent
        deadline = time.monotonic() + 45
        while time.monotonic() < deadline and await asyncio.to_thread(lambda: statuses(engine)) != {"sent": 6}:
            await asyncio.sleep(0.05)
        worker.stop()
        await task
        assert await asyncio.to_thread(worker.backlog) == (0, None)
        await fake.stop()

    fake = FakeSlack()
    for kind in ("429", "500", "500-posted", "429", "drop-posted"):
        fake.fail_next("chat.postMessage", kind)
    asyncio.run(go(fake))
    assert statuses(engine) == {"sent": 6}
    posts = fake.posts_by_key()
    assert set(posts) == keys(engine) and set(posts.values()) == {1}
    assert len(fake.calls_to("chat.postMessage")) >= 6 + 3  # the failed calls were really retried
    assert len(fake.calls_to("conversations.history")) >= 3  # the uncertain ones were looked for first
    assert metrics.RATE_LIMITED.labels("slack")._value.get() - limited_before == 2
    assert metrics.DELIVERIES.labels("slack", "sent")._value.get() - sent_before == 6
    assert metrics.DELIVERIES.labels("slack", "retry")._value.get() - retried_before == 5


def test_pacing_per_channel_keeps_other_channels_flowing(engine: Engine) -> None:
    """Three messages to C00000 must be a second apart; the twenty other channels are not held back."""
    with session_scope(engine) as session:
        for i in range(3):
            enqueue(session, platform="slack", workspace="T1", target_kind="channel", target_id="C00000",
                    message=Message.text(f"update {i}"))
    broadcast(engine, 20, prefix="X")
    done: dict[str, float] = {}

    class Timed(SlackSender):
        async def send(self, item: Outgoing) -> str:
            result = await super().send(item)
            done[item.idempotency_key + ":" + item.target_id] = time.monotonic()
            return result

    async def go(fake: FakeSlack) -> float:
        await fake.start()
        worker = DeliveryWorker(engine, {"slack": Timed(make_client("xoxb-test", fake.api_url))}, poll_interval=0.05,
                                limits={"slack": RateLimit(per_target=1.0, per_second=200)})
        start = time.monotonic()
        task = asyncio.create_task(worker.run())
        while await asyncio.to_thread(lambda: statuses(engine)) != {"sent": 23} and time.monotonic() - start < 20:
            await asyncio.sleep(0.02)
        worker.stop()
        await task
        await fake.stop()
        return start

    fake = FakeSlack(rate_per_channel=1.0, channel_burst=2.0)
    start = asyncio.run(go(fake))
    assert fake.rate_limited == 0
    same = sorted(t for k, t in done.items() if k.endswith("C00000"))
    assert len(same) == 3 and same[1] - same[0] >= 0.95 and same[2] - same[1] >= 0.95
    others = [t - start for k, t in done.items() if not k.endswith("C00000")]
    # every other channel was served before the throttled one's last message (which waits 2 s at least)
    assert len(others) == 20 and max(others) < same[-1] - start, (max(others), same[-1] - start)


def test_a_slow_channel_does_not_block_the_others(engine: Engine) -> None:
    with session_scope(engine) as session:
        enqueue(session, platform="slack", workspace="T1", target_kind="channel", target_id="SLOW",
                message=Message.text("slow"))
    broadcast(engine, 30)
    finished: dict[str, float] = {}

    class Sender:
        platform = "slack"

        async def send(self, item: Outgoing) -> str:
            await asyncio.sleep(3.0 if item.target_id == "SLOW" else 0.01)
            finished[item.target_id] = time.monotonic()
            return f"ts-{item.id}"

    async def go() -> float:
        worker = DeliveryWorker(engine, {"slack": Sender()}, poll_interval=0.05, concurrency=8, batch_size=8)
        start = time.monotonic()
        task = asyncio.create_task(worker.run())
        while await asyncio.to_thread(lambda: statuses(engine)) != {"sent": 31} and time.monotonic() - start < 20:
            await asyncio.sleep(0.02)
        worker.stop()
        await task
        return start

    start = asyncio.run(go())
    assert finished["SLOW"] - start >= 3.0
    assert max(t for k, t in finished.items() if k != "SLOW") - start < 2.0


def test_messages_to_one_channel_arrive_in_order(engine: Engine) -> None:
    """Later rows answer faster here; still, an update never overtakes the announcement before it."""
    with session_scope(engine) as session:
        for i in range(6):
            enqueue(session, platform="matrix", workspace="hs", target_kind="channel", target_id="!room:hs",
                    message=Message.text(f"update {i}"))
    arrived: list[str] = []

    class Sender:
        platform = "matrix"

        async def send(self, item: Outgoing) -> str:
            n = int(item.message.summary.split()[-1])
            await asyncio.sleep(0.05 * (6 - n))
            arrived.append(item.message.summary)
            return f"$event{item.id}"

    async def go() -> None:
        worker = DeliveryWorker(engine, {"matrix": Sender()}, poll_interval=0.05)
        task = asyncio.create_task(worker.run())
        deadline = time.monotonic() + 20
        while await asyncio.to_thread(lambda: statuses(engine)) != {"sent": 6} and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        worker.stop()
        await task

    asyncio.run(go())
    assert arrived == [f"update {i}" for i in range(6)]


class LeaderOnlySender:
    """A sender that takes messages only while its replica leads (as the Matrix sender does)."""

    platform = "leaderonly"

    def __init__(self) -> None:
        self.ready = False
        self.sent: list[int] = []

    async def send(self, item: Outgoing) -> str:
        self.sent.append(item.id)
        return f"m-{item.id}"


async def test_a_sender_that_is_not_ready_leaves_its_rows_for_another_replica(engine: Engine) -> None:
    with session_scope(engine) as session:
        for i in range(3):
            enqueue(session, platform="leaderonly", workspace="w", target_kind="channel", target_id=f"r{i}",
                    message=Message.text("hello"), subject="t")
    follower, leader = LeaderOnlySender(), LeaderOnlySender()
    waiting = DeliveryWorker(engine, {"leaderonly": follower}, poll_interval=0.05)
    assert waiting.ready_platforms() == [] and await waiting.run_once() == 0
    assert statuses(engine) == {"pending": 3}
    with session_scope(engine) as session:  # nothing claimed: no attempt counted, no lease taken
        assert all(r.attempts == 0 and r.claimed_until is None for r in session.exec(select(OutboxMessage)))
    leader.ready = True
    assert await DeliveryWorker(engine, {"leaderonly": leader}, poll_interval=0.05).run_once() == 3
    assert len(set(leader.sent)) == 3 and not follower.sent
    assert statuses(engine) == {"sent": 3}
