"""Two replicas serving Matrix on one PostgreSQL database: every replica logs in and can send, only the
leader syncs (each message is answered once), and when the leader stops the other one takes the sync over."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from contextlib import suppress
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from bot.app import default_platforms, serve
from bot.http import HttpServer
from bot.settings import Settings
from tests.support.matrix import MatrixWorld
from tests.support.synapse import Synapse

pytestmark = pytest.mark.synapse


def healthz(port: int) -> dict[str, Any]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as resp:
            return dict(json.loads(resp.read()))
    except urllib.error.HTTPError as exc:
        return dict(json.loads(exc.read()))


def check(port: int, name: str) -> str:
    return str(healthz(port)["checks"][name]["detail"])


async def acheck(port: int, name: str) -> str:
    """`check` off the event loop, which serves the replicas' HTTP in this test."""
    return await asyncio.to_thread(check, port, name)


async def until(predicate: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await asyncio.to_thread(predicate):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


@pytest.mark.postgres_only
async def test_only_the_leader_syncs_and_the_other_replica_takes_over(synapse: Synapse,
                                                                       postgres_engine: Engine) -> None:
    url = postgres_engine.url.render_as_string(hide_password=False)
    world = MatrixWorld(synapse, postgres_engine, Settings(database_url=url,
                                                           admins=(default_platforms().parse_account("console:admin"),)))
    apps = [world.build(), world.build()]
    https = [HttpServer(app.engine, "127.0.0.1", 0) for app in apps]
    stops = [asyncio.Event(), asyncio.Event()]
    tasks: list[asyncio.Task[None]] = []
    try:
        tasks.append(asyncio.create_task(serve(apps[0], stop=stops[0], http=https[0], leadership_interval=0.5)))
        await until(lambda: https[0].bound_port and check(https[0].bound_port, "leadership").startswith("leader"),
                    20, "replica A to lead")
        tasks.append(asyncio.create_task(serve(apps[1], stop=stops[1], http=https[1], leadership_interval=0.5)))
        await until(lambda: https[1].bound_port and check(https[1].bound_port, "matrix")
                    == "logged in; another replica syncs", 20, "B to log in")
        a, b = https[0].bound_port, https[1].bound_port
        assert a and b
        assert (await acheck(b, "leadership")).startswith("follower") and await acheck(a, "matrix") == "connected"

        alice = await world.user("alice")
        room = await world.direct_room(alice)
        mark = alice.mark()
        await alice.send(room, "profile skills kafka")
        await alice.expect(room, sender=world.bot_id, contains="Your skills: kafka", after=mark)
        await asyncio.sleep(2)
        assert len(alice.messages(room, sender=world.bot_id, after=mark)) == 1, "answered by both replicas"

        # A stops (a rolling update, a drained node): B leads and syncs from where A left off.
        stops[0].set()
        await asyncio.wait_for(tasks[0], 30)
        await until(lambda: check(b, "leadership").startswith("leader") and check(b, "matrix") == "connected",
                    20, "B to take the sync over")
        mark = alice.mark()
        await alice.send(room, "profile skills python")
        await alice.expect(room, sender=world.bot_id, contains="python", after=mark)
        await asyncio.sleep(2)
        assert len(alice.messages(room, sender=world.bot_id, after=mark)) == 1
        assert not any("kafka" in m.body and "python" not in m.body
                       for m in alice.messages(room, sender=world.bot_id, after=mark)), "an old message replayed"
    finally:
        for stop in stops:
            stop.set()
        for task in tasks:
            with suppress(Exception):
                await asyncio.wait_for(task, 30)
        await world.close()
