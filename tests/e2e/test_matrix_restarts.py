"""Restarts, crashes, history and a homeserver that goes away: nothing lost, nothing done twice."""

from __future__ import annotations

import asyncio
import time
from contextlib import suppress

import pytest
from sqlmodel import select

from adapters.matrix.state import MatrixState
from storage.db import session_scope
from storage.tables import Community, PersonSkill
from tests.support.matrix import MatrixUser, MatrixWorld, Seen

pytestmark = pytest.mark.synapse


def replies_to(user: MatrixUser, room: str, bot: str, event_id: str) -> list[Seen]:
    return [m for m in user.messages(room, sender=bot)
            if m.content.get("m.relates_to", {}).get("m.in_reply_to", {}).get("event_id") == event_id]


async def test_restart_rehandles_nothing_and_loses_nothing(matrix: MatrixWorld) -> None:
    first = await matrix.start_bot()
    assert first.adapter is not None
    device = first.adapter.client.device_id
    alice = await matrix.user("alice")
    room = await matrix.direct_room(alice)

    before = await alice.send(room, "profile skills go")
    await alice.expect(room, sender=matrix.bot_id, contains="Your skills: go")
    await first.stop()

    # Commands typed while the bot is down.
    while_down = [await alice.send(room, 'community create kayak "Kayak club"'),
                  await alice.send(room, "profile skills go, kayak")]
    second = await matrix.start_bot()
    assert second.adapter is not None
    await alice.expect(room, sender=matrix.bot_id, contains="Your skills: go, kayak")
    await alice.expect(room, sender=matrix.bot_id, contains="Community Kayak club (kayak) created")
    after = await alice.send(room, "profile show")
    await alice.expect(room, sender=matrix.bot_id, contains="Your accounts")

    for event_id in (before, *while_down, after):
        assert len(replies_to(alice, room, matrix.bot_id, event_id)) == 1, event_id
    assert second.adapter.client.device_id == device  # the restart reused the stored device
    with session_scope(matrix.engine) as session:
        assert len(list(session.exec(select(Community).where(Community.slug == "kayak")))) == 1


async def test_a_crash_before_the_sync_token_is_saved_redelivers_without_effect(matrix: MatrixWorld) -> None:
    bot = await matrix.start_bot()
    assert bot.adapter is not None
    alice = await matrix.user("alice")
    room = await matrix.direct_room(alice)
    state = MatrixState(matrix.engine, matrix.bot_id)
    await alice.send(room, "help")
    await alice.expect(room, sender=matrix.bot_id)
    token_before = state.get("sync_token")

    command = await alice.send(room, 'community create velo "Vélo"')
    await alice.expect(room, sender=matrix.bot_id, contains="created")
    await bot.stop()
    # As if the process died after handling the batch but before saving its token.
    assert token_before is not None and state.get("sync_token") != token_before
    state.put({"sync_token": token_before})

    await matrix.start_bot()
    probe = await alice.send(room, "profile skills velo")
    await alice.expect(room, sender=matrix.bot_id, contains="Your skills: velo")
    assert len(replies_to(alice, room, matrix.bot_id, command)) == 1
    assert len(replies_to(alice, room, matrix.bot_id, probe)) == 1
    with session_scope(matrix.engine) as session:
        assert len(list(session.exec(select(Community).where(Community.slug == "velo")))) == 1


async def test_history_from_before_the_bot_joined_is_not_answered(matrix: MatrixWorld) -> None:
    await matrix.start_bot()
    alice = await matrix.user("alice")
    room = await alice.create_room([], name="old room")
    old = await alice.send(room, "!cercle profile skills archaeology")
    await alice.invite(room, matrix.bot_id)
    await matrix.joined(alice, room)
    new = await alice.send(room, "!cercle community create fouilles \"Fouilles\"")
    await alice.expect(sender=matrix.bot_id, contains="created")
    await asyncio.sleep(0.5)
    assert not [m for m in alice.seen if m.sender == matrix.bot_id and "archaeology" in m.body]
    assert not replies_to(alice, room, matrix.bot_id, old)
    assert new
    with session_scope(matrix.engine) as session:
        assert not list(session.exec(select(PersonSkill).where(PersonSkill.skill == "archaeology")))


async def test_first_start_does_not_answer_what_was_said_before(matrix: MatrixWorld) -> None:
    # The bot's account is in a room (joined by hand) before Cercle ever ran on this database.
    alice = await matrix.user("alice")
    stranger = MatrixUser(matrix.synapse, matrix.bot_account, auto_join=True)
    await stranger.start()
    room = await alice.create_room([matrix.bot_id], name="before")
    await matrix.joined(alice, room)
    await stranger.stop()
    old = await alice.send(room, "!cercle profile skills prehistory")
    await matrix.start_bot()
    new = await alice.send(room, "!cercle profile skills now")
    await alice.expect(sender=matrix.bot_id, contains="Your skills: now")
    assert not replies_to(alice, room, matrix.bot_id, old)
    assert new


class _Proxy:
    """A TCP proxy to the homeserver that can be switched off, to play a homeserver outage."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.up = True
        self.connections = 0
        self.server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        if not self.up:
            writer.close()
            return
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self._open.update((writer, up_writer))

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with suppress(ConnectionError, OSError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def cut(self) -> None:
        self.up = False
        for writer in self._open:
            writer.close()
        self._open.clear()

    async def stop(self) -> None:
        self.cut()
        if self.server:
            self.server.close()


async def test_homeserver_outage_is_retried_with_backoff_and_reported(matrix: MatrixWorld) -> None:
    proxy = _Proxy(matrix.synapse.port)
    port = await proxy.start()
    try:
        matrix.build(homeserver=f"http://127.0.0.1:{port}")
        bot = await matrix.start_bot()
        assert bot.adapter is not None
        assert await bot.adapter.health() == (True, "connected")
        alice = await matrix.user("alice")
        room = await matrix.direct_room(alice)

        proxy.cut()
        deadline = time.monotonic() + 10
        while (await bot.adapter.health())[0]:
            assert time.monotonic() < deadline, "the adapter never noticed the outage"
            await asyncio.sleep(0.1)
        ok, detail = await bot.adapter.health()
        assert not ok and detail
        await alice.send(room, "profile skills patience")  # said while the bot cannot reach the server
        attempts = proxy.connections
        await asyncio.sleep(4)
        # Backoff from 0.2 s doubling to a 2 s cap: a handful of tries in 4 s, not a tight loop.
        assert 1 <= proxy.connections - attempts <= 12

        proxy.up = True
        await alice.expect(room, sender=matrix.bot_id, contains="Your skills: patience", timeout=20)
        assert await bot.adapter.health() == (True, "connected")
    finally:
        await proxy.stop()


async def test_two_replicas_answer_each_command_once(matrix: MatrixWorld) -> None:
    await matrix.start_bot()
    await matrix.start_bot()  # a second process on the same database and account
    alice = await matrix.user("alice")
    room = await matrix.direct_room(alice)
    sent = [await alice.send(room, f"profile skills replica{i}") for i in range(5)]
    await alice.expect(room, sender=matrix.bot_id, contains="Your skills: replica4")
    await asyncio.sleep(1.0)
    for event_id in sent:
        assert len(replies_to(alice, room, matrix.bot_id, event_id)) == 1, event_id


async def test_a_long_downtime_is_caught_up_beyond_one_sync_timeline(matrix: MatrixWorld) -> None:
    small = {"timeline_limit": 3}  # so the catch-up needs the paginated history, as after hours down
    bot = await matrix.start_bot(adapter_options=small)
    alice = await matrix.user("alice")
    room = await matrix.direct_room(alice)
    await alice.send(room, "help")
    await alice.expect(room, sender=matrix.bot_id)
    await bot.stop()
    sent = [await alice.send(room, f"profile skills step{i}") for i in range(8)]
    await matrix.start_bot(adapter_options=small)
    await alice.expect(room, sender=matrix.bot_id, contains="Your skills: step7")
    await asyncio.sleep(0.5)
    for event_id in sent:
        assert len(replies_to(alice, room, matrix.bot_id, event_id)) == 1, event_id
