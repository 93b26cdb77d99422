"""`serve()` told to stop (as `cercle run` on SIGTERM): the platforms stop taking requests first; the rows
the delivery worker has not sent go back at once; the leader's duties stop before its lock is released and
another replica leads at its next try; the platforms stop only once the outbox is done with their senders;
all well within the budget."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.app import build, serve
from bot.clock import SystemClock
from bot.http import HttpServer
from bot.leadership import Leadership
from bot.messages import Message
from bot.outbox import Outgoing, enqueue
from bot.settings import Settings
from bot.shutdown import STOP_BUDGET
from storage.db import session_scope
from storage.tables import OutboxMessage
from tests.bot.ops.support import MemoryAdapter, eventually

NAME = "memstop"


class Timeline:
    def __init__(self) -> None:
        self.events: list[tuple[float, str]] = []

    def mark(self, what: str) -> None:
        self.events.append((time.monotonic(), what))

    def at(self, what: str) -> float:
        found = self.all(what)
        assert found, f"never happened: {what} (timeline: {[w for _t, w in self.events if w != 'sent']})"
        return found[0]

    def all(self, what: str) -> list[float]:
        return [t for t, w in self.events if w == what]


class SlowSender:
    platform = NAME

    def __init__(self, timeline: Timeline) -> None:
        self.timeline = timeline
        self.sent: list[int] = []
        self.sending = 0

    async def send(self, item: Outgoing) -> str:
        self.sending += 1
        await asyncio.sleep(0.2)
        self.sending -= 1
        self.sent.append(item.id)
        self.timeline.mark("sent")
        return f"{NAME}-{item.id}"


class StoppingAdapter(MemoryAdapter):
    """Sends take 0.2 s; stopping its leader duties takes 0.3 s (a sync loop finishing its batch)."""

    def __init__(self, timeline: Timeline) -> None:
        super().__init__(NAME)
        self.timeline = timeline
        self.slow = SlowSender(timeline)
        self.sender = self.slow  # type: ignore[assignment]

    async def stop_taking_requests(self) -> None:
        self.timeline.mark("stop taking requests")

    async def stop_leader_duties(self) -> None:
        if self.duties_running:
            await asyncio.sleep(0.3)
            self.timeline.mark("duties stopped")
        await super().stop_leader_duties()

    async def stop(self) -> None:
        self.timeline.mark("stopped")
        await super().stop()


@pytest.mark.postgres_only
async def test_stop_gives_rows_back_releases_the_leadership_after_the_duties_and_stops_the_platforms_last(
        postgres_engine: Engine) -> None:
    url = postgres_engine.url.render_as_string(hide_password=False)
    app = build(Settings(database_url=url), clock=SystemClock(), migrate=False, engine=postgres_engine)
    app.assembly = replace(app.assembly, jobs=())
    with session_scope(postgres_engine) as session:
        for n in range(200):  # ten rows to each of twenty channels: one send at a time per channel
            enqueue(session, platform=NAME, workspace="w", target_kind="channel", target_id=f"room{n % 20}",
                    message=Message.text(f"announcement {n}"))
    timeline = Timeline()
    adapter = StoppingAdapter(timeline)
    http = HttpServer(app.engine, "127.0.0.1", 0)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(app, stop=stop, adapters=[adapter], http=http, leadership_interval=0.2))
    follower = Leadership(postgres_engine, interval=0.2)

    async def elected() -> None:
        timeline.mark("other replica leads")

    async def demoted() -> None:
        return None

    following: asyncio.Task[None] | None = None
    try:
        await eventually(lambda: adapter.duties_running and http.bound_port is not None)
        following = asyncio.create_task(follower.run(elected, demoted))  # a second replica, once this one leads
        await eventually(lambda: len(adapter.slow.sent) >= 30 and adapter.slow.sending > 0)
        assert not follower.is_leader
        timeline.mark("stop")
        stop.set()
        await asyncio.wait_for(task, STOP_BUDGET)
        timeline.mark("serve returned")
        await eventually(lambda: follower.is_leader, timeout=5)
    finally:
        stop.set()
        follower.stop()
        if following is not None:
            await following
        if not task.done():
            task.cancel()

    stopped_at = timeline.at("stop")
    assert timeline.at("serve returned") - stopped_at < 2.0  # sends in flight (0.2 s) and duties (0.3 s)
    # Requests stop coming in at once; the platform stops after its last send.
    assert timeline.at("stop taking requests") - stopped_at < 0.1
    assert max(timeline.all("sent")) < timeline.at("stopped")
    # The duties stopped before the lock was released; the other replica then led at its next try.
    assert timeline.at("duties stopped") < timeline.at("other replica leads")
    assert timeline.at("other replica leads") - stopped_at < 0.3 + 0.2 + 0.5
    # What was sent is recorded; everything else is claimable at once (no lease), no attempt counted.
    with session_scope(postgres_engine) as session:
        rows = list(session.exec(select(OutboxMessage)))
    sent = {r.id for r in rows if r.status == "sent"}
    assert sent == set(adapter.slow.sent) and 30 <= len(sent) < 200
    assert {(r.claimed_by, r.claimed_until, r.attempts) for r in rows if r.status != "sent"} == {(None, None, 0)}
    # No HTTP request is taken any more.
    with pytest.raises(OSError):
        await asyncio.open_connection("127.0.0.1", http.bound_port)


class NeverStarts(MemoryAdapter):
    """A platform whose first start hangs (a homeserver that accepts the connection and never answers)."""

    async def start(self) -> None:
        self.start_calls += 1
        await asyncio.sleep(3600)


async def test_a_stop_while_a_platform_is_still_starting_does_not_wait_for_it(engine: Engine) -> None:
    url = engine.url.render_as_string(hide_password=False)
    app = build(Settings(database_url=url), clock=SystemClock(), migrate=False, engine=engine)
    adapter = NeverStarts("memhang")
    http = HttpServer(app.engine, "127.0.0.1", 0)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(app, stop=stop, adapters=[adapter], http=http))
    await eventually(lambda: adapter.start_calls == 1)
    started = time.monotonic()
    stop.set()  # SIGTERM during the first start, which would give up only after 30 s
    await asyncio.wait_for(task, STOP_BUDGET)
    assert time.monotonic() - started < 2.0
    assert not adapter.running
    with pytest.raises(OSError):
        await asyncio.open_connection("127.0.0.1", http.bound_port)
