"""A stopping delivery worker leaves no row waiting for a lease: what it never handed to the platform is
given back at once, a send in progress finishes, and a send cut off is given back in doubt, so the next
attempt looks for it (the real Slack sender against the fake Slack) instead of posting it twice."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from adapters.slack.app import make_client
from adapters.slack.sender import SlackSender
from bot.messages import Message
from bot.outbox import Outgoing, RateLimit, enqueue
from bot.outbox.release import CUT_OFF, SETTLE
from bot.outbox.worker import DeliveryWorker
from storage.db import session_scope
from storage.tables import OutboxMessage
from tests.fakes.slack_api import FakeSlack


def rows(engine: Engine) -> dict[int, OutboxMessage]:
    with session_scope(engine) as session:
        found = {r.id or 0: r for r in session.exec(select(OutboxMessage))}
        for row in found.values():
            session.expunge(row)
        return found


def queue(engine: Engine, targets: list[str]) -> list[int]:
    ids = []
    with session_scope(engine) as session:
        for n, target in enumerate(targets):
            row = enqueue(session, platform="slack", workspace="T1", target_kind="channel", target_id=target,
                          message=Message.text(f"announcement {n}"), subject="crisis:1:ann:1")
            assert row is not None and row.id is not None
            ids.append(row.id)
    return ids


class Recording:
    """A platform that takes `seconds` to answer each send and remembers what it was given."""

    platform = "slack"

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.sent: list[int] = []

    async def send(self, item: Outgoing) -> str:
        await asyncio.sleep(self.seconds)
        self.sent.append(item.id)
        return f"ts-{item.id}"


async def until(predicate: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not await asyncio.to_thread(predicate):  # type: ignore[arg-type]
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


def test_stop_finishes_the_sends_in_flight_and_gives_every_other_row_back_at_once(engine: Engine) -> None:
    # 40 channels, two rows each: one send at a time per channel, so half the claimed rows wait their turn.
    ids = queue(engine, [f"C{i:03d}" for i in range(40)] * 2)
    platform = Recording(0.3)

    async def go() -> float:
        worker = DeliveryWorker(engine, {"slack": platform}, worker_id="stopping", concurrency=64, batch_size=64,
                                limits={"slack": RateLimit(per_target=0.0, per_second=100.0)}, poll_interval=0.05)
        task = asyncio.create_task(worker.run())
        await until(lambda: len(worker._sending) >= 5, 10)
        worker.stop()
        started = time.monotonic()
        await task
        return time.monotonic() - started

    took = asyncio.run(go())
    assert took < 1.5, f"stopping took {took:.2f} s"  # the sends in flight (0.3 s each), nothing more
    after = rows(engine)
    sent = {i for i, r in after.items() if r.status == "sent"}
    assert sent == set(platform.sent) and len(platform.sent) == len(set(platform.sent)) >= 5
    back = [after[i] for i in ids if i not in sent]
    assert back, "the worker finished the broadcast before it was stopped"
    # Every other row is claimable at once, as if never claimed: no lease to wait for, no attempt counted.
    assert {(r.status, r.claimed_by, r.claimed_until, r.attempts) for r in back} == {("pending", None, None, 0)}

    async def carry_on() -> list[Outgoing]:
        other = DeliveryWorker(engine, {"slack": Recording(0.0)}, worker_id="other", batch_size=200)
        return await asyncio.to_thread(other.claim, 200)

    taken = asyncio.run(carry_on())
    assert {i.id for i in taken} == {r.id for r in back} and not any(i.in_doubt for i in taken)


def test_a_send_cut_off_at_stop_is_given_back_in_doubt_and_not_posted_twice(engine: Engine) -> None:
    ids = queue(engine, ["CSTUCK", "C1", "C2"])
    fake = FakeSlack()
    fake.fail_next("chat.postMessage", "stall-posted", retry_after=60)  # Slack posts it, its answer never comes

    async def go() -> None:
        await fake.start()
        sender = SlackSender(make_client("xoxb-test", fake.api_url))
        worker = DeliveryWorker(engine, {"slack": sender}, worker_id="stopping", stop_grace=0.5,
                                poll_interval=0.05)
        task = asyncio.create_task(worker.run())
        await until(lambda: len(fake.posted()) == 3 and len(rows_sent(engine)) == 2, 10)
        worker.stop()
        started = time.monotonic()
        await task
        assert time.monotonic() - started < 2.0  # the grace, then cut off: no 20 s send timeout
        stuck = next(r for r in rows(engine).values() if r.status == "pending")
        assert stuck.claimed_by is None and stuck.attempts == 1 and stuck.last_error == CUT_OFF
        assert stuck.claimed_until is not None  # in doubt: the next attempt looks before posting
        wait = (stuck.claimed_until.replace(tzinfo=UTC) - datetime.now(UTC)).total_seconds()
        assert 0 < wait <= SETTLE.total_seconds()  # due in a moment, not when a 60 s lease would end
        await asyncio.sleep(wait + 0.05)
        other = DeliveryWorker(engine, {"slack": sender}, worker_id="other")
        assert await other.run_once() == 1
        await fake.stop()

    asyncio.run(go())
    assert {r.status for r in rows(engine).values()} == {"sent"}
    assert sorted(fake.posts_by_key().values()) == [1, 1, 1]  # found in the history, not posted again
    assert len(fake.calls_to("conversations.history")) == 1
    stuck_call = next(c for c in fake.calls_to("chat.postMessage") if c.answer.get("ok"))
    stuck_row = rows(engine)[int(stuck_call.params["metadata"]["event_payload"]["key"].rsplit("-", 1)[1])]
    assert stuck_row.id in ids and stuck_row.platform_message_id == stuck_call.answer["ts"]


def rows_sent(engine: Engine) -> list[int]:
    return [i for i, r in rows(engine).items() if r.status == "sent"]


def test_a_row_in_doubt_given_back_unsent_stays_in_doubt(engine: Engine) -> None:
    first, doubtful = queue(engine, ["CSAME", "CSAME"])
    with session_scope(engine) as session:  # an earlier attempt ended without an answer (a timeout)
        session.execute(update(OutboxMessage).where(col(OutboxMessage.id) == doubtful)
                        .values(attempts=1, claimed_until=datetime.now(UTC) - timedelta(seconds=1)))
    platform = Recording(0.0)

    async def go() -> list[Outgoing]:
        # One message per 30 s to a channel: the second row waits for its turn when the worker stops.
        worker = DeliveryWorker(engine, {"slack": platform}, worker_id="stopping", poll_interval=0.05,
                                limits={"slack": RateLimit(per_target=30.0)})
        task = asyncio.create_task(worker.run())
        await until(lambda: rows(engine)[first].status == "sent", 10)
        worker.stop()
        await task
        await asyncio.sleep(0.01)
        other = DeliveryWorker(engine, {"slack": platform}, worker_id="other")
        return await asyncio.to_thread(other.claim, 10)

    taken = asyncio.run(go())
    assert platform.sent == [first]
    assert [(i.id, i.in_doubt, i.attempts) for i in taken] == [(doubtful, True, 2)]  # 1 earlier + this one
