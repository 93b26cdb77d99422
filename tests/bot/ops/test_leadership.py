"""Leadership: one leader among replicas on PostgreSQL, a quick takeover when it dies; SQLite always leads."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
from sqlalchemy.engine import Engine

from bot.leadership import Callback, Leadership, conninfo
from storage.db import make_engine
from tests.bot.ops.support import TcpProxy

INTERVAL = 0.3


class Recorder:
    """Remembers elections and demotions, in order, per replica."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []

    def callbacks(self, name: str) -> tuple[Callback, Callback]:
        async def elected() -> None:
            self.events.append((name, "elected"))

        async def demoted() -> None:
            self.events.append((name, "demoted"))

        return elected, demoted


async def wait_for(predicate: Callable[[], bool], timeout: float) -> float:
    """Seconds until `predicate` holds; fails the test after `timeout`."""
    started = time.monotonic()
    while not predicate():
        assert time.monotonic() - started < timeout, "condition not reached in time"
        await asyncio.sleep(0.02)
    return time.monotonic() - started


async def test_one_leader_then_takeover_when_its_connection_dies(postgres_engine: Engine) -> None:
    rec = Recorder()
    a, b = Leadership(postgres_engine, interval=INTERVAL), Leadership(postgres_engine, interval=INTERVAL)
    task_a = asyncio.create_task(a.run(*rec.callbacks("a")))
    await wait_for(lambda: a.is_leader, 5)
    task_b = asyncio.create_task(b.run(*rec.callbacks("b")))
    await asyncio.sleep(INTERVAL * 4)  # b tried several times
    assert (a.is_leader, b.is_leader) == (True, False)
    assert rec.events == [("a", "elected")]
    ok, detail = await b.health()
    assert ok and detail.startswith("follower since ")
    ok, detail = await a.health()
    assert ok and detail.startswith("leader since ")

    # The leader's connection is killed (a crashed pod, a network cut, an operator).
    assert a._conn is not None
    with psycopg.connect(conninfo(postgres_engine), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (a._conn.info.backend_pid,))
    takeover = await wait_for(lambda: b.is_leader, 5)
    await wait_for(lambda: not a.is_leader, 5)
    assert takeover < INTERVAL * 3, f"takeover took {takeover:.2f} s"
    assert set(rec.events[1:]) == {("a", "demoted"), ("b", "elected")}

    # a comes back as a follower and stays one while b leads.
    await asyncio.sleep(INTERVAL * 4)
    assert (a.is_leader, b.is_leader) == (False, True)

    # b stops cleanly: it steps down and a takes over.
    b.stop()
    await task_b
    await wait_for(lambda: a.is_leader, 5)
    assert rec.events[-2:] == [("b", "demoted"), ("a", "elected")]
    a.stop()
    await task_a
    assert rec.events[-1] == ("a", "demoted")


async def test_many_replicas_elect_exactly_one(postgres_engine: Engine) -> None:
    rec = Recorder()
    replicas = [Leadership(postgres_engine, interval=INTERVAL) for _ in range(4)]
    tasks = [asyncio.create_task(r.run(*rec.callbacks(str(i)))) for i, r in enumerate(replicas)]
    await wait_for(lambda: any(r.is_leader for r in replicas), 5)
    await asyncio.sleep(INTERVAL * 4)
    assert sum(r.is_leader for r in replicas) == 1
    assert len([e for e in rec.events if e[1] == "elected"]) == 1
    for r in replicas:
        r.stop()
    await asyncio.gather(*tasks)


async def test_a_stopping_leader_lets_go_and_a_follower_takes_over_at_once(postgres_engine: Engine) -> None:
    """SIGTERM: the leader's duties stop, it unlocks and notifies; a follower does not wait for its next try."""
    rec = Recorder()
    slow = 3.0  # seconds between a follower's tries
    a, b = Leadership(postgres_engine, interval=slow), Leadership(postgres_engine, interval=slow)
    task_a = asyncio.create_task(a.run(*rec.callbacks("a")))
    await wait_for(lambda: a.is_leader, 5)
    task_b = asyncio.create_task(b.run(*rec.callbacks("b")))
    await asyncio.sleep(0.5)  # b has tried once; its next try is 2.5 s away
    assert not b.is_leader
    a.stop()
    takeover = await wait_for(lambda: b.is_leader, slow)
    await task_a
    assert takeover < 1.0, f"the follower waited {takeover:.2f} s for its next try"
    assert rec.events == [("a", "elected"), ("a", "demoted"), ("b", "elected")]
    b.stop()
    await task_b


async def test_follower_reports_unreachable_database() -> None:
    engine = make_engine("postgresql+psycopg://postgres@127.0.0.1:1/nowhere")
    rec = Recorder()
    lead = Leadership(engine, interval=INTERVAL)
    task = asyncio.create_task(lead.run(*rec.callbacks("x")))
    await wait_for(lambda: lead.last_error is not None, 10)
    ok, detail = await lead.health()
    assert not ok and "cannot reach the database" in detail
    assert not lead.is_leader and rec.events == []
    lead.stop()
    await task
    engine.dispose()


async def test_sqlite_process_is_always_leader(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'c.db'}")
    rec = Recorder()
    lead = Leadership(engine, interval=INTERVAL)
    task = asyncio.create_task(lead.run(*rec.callbacks("only")))
    await wait_for(lambda: lead.is_leader, 2)
    ok, detail = await lead.health()
    assert ok and detail.startswith("leader since ")
    lead.stop()
    await task
    assert rec.events == [("only", "elected"), ("only", "demoted")]
    engine.dispose()


async def test_a_leader_whose_duties_fail_gives_the_leadership_up(postgres_engine: Engine) -> None:
    attempts: list[str] = []

    async def broken() -> None:
        attempts.append("a")
        raise RuntimeError("scheduler hook failed")

    async def nothing() -> None:
        return None

    rec = Recorder()
    a = Leadership(postgres_engine, interval=INTERVAL)
    task_a = asyncio.create_task(a.run(broken, nothing))
    await wait_for(lambda: len(attempts) >= 1, 5)
    await wait_for(lambda: not a.is_leader, 5)
    ok, detail = await a.health()
    assert not ok and "the leader's duties failed to start (RuntimeError)" in detail
    b = Leadership(postgres_engine, interval=INTERVAL)  # a healthy replica gets its turn
    task_b = asyncio.create_task(b.run(*rec.callbacks("b")))
    await wait_for(lambda: b.is_leader, 10)
    assert rec.events[0] == ("b", "elected")
    await wait_for(lambda: a.last_error is None, 5)  # a sees b lead: nothing wrong with a any more
    assert (await a.health())[0]
    a.stop()
    b.stop()
    await asyncio.gather(task_a, task_b)


async def test_a_leader_on_a_silently_dead_connection_steps_down_and_frees_the_lock(postgres_engine: Engine) -> None:
    url = postgres_engine.url
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    port = await proxy.start()
    through_proxy = make_engine(url.set(port=port).render_as_string(hide_password=False))
    rec = Recorder()
    a = Leadership(through_proxy, interval=INTERVAL)
    b = Leadership(postgres_engine, interval=INTERVAL)
    task_a = asyncio.create_task(a.run(*rec.callbacks("a")))
    await wait_for(lambda: a.is_leader, 5)
    task_b = asyncio.create_task(b.run(*rec.callbacks("b")))
    assert a._conn is not None
    old_pid = a._conn.info.backend_pid
    await asyncio.sleep(INTERVAL * 3)

    proxy.freeze_existing()  # a's packets vanish; the server still sees a healthy session holding the lock
    stepped_down = await wait_for(lambda: not a.is_leader, 5)
    assert stepped_down < INTERVAL * 4, f"a kept leading {stepped_down:.2f} s on a dead connection"
    # a reconnects (a new flow), ends its old session, and the lock is free again for one replica.
    await wait_for(lambda: a.is_leader or b.is_leader, 10)
    with psycopg.connect(conninfo(postgres_engine), autocommit=True) as admin:
        alive = admin.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (old_pid,)).fetchone()
    assert alive == (0,)
    await asyncio.sleep(INTERVAL * 4)
    assert a.is_leader != b.is_leader
    a.stop()
    b.stop()
    await asyncio.gather(task_a, task_b)
    await proxy.stop()
    through_proxy.dispose()
