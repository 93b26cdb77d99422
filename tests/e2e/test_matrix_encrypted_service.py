"""The real `cercle run` in encrypted rooms, as Element users meet it: an encrypted direct room and an
encrypted community room keep working after a `kill -9` of the bot and a restart, and after a leader change
between two replicas on PostgreSQL; each command is answered once, always encrypted."""

from __future__ import annotations

import asyncio
import time
from contextlib import suppress
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from tests.support.cercle_process import CercleProcess
from tests.support.matrix import SECRET, MatrixUser, Seen, unique
from tests.support.synapse import Synapse

pytestmark = [pytest.mark.synapse, pytest.mark.postgres_only]


def replies_to(user: MatrixUser, room: str, bot: str, event_id: str) -> list[Seen]:
    return [m for m in user.messages(room, sender=bot)
            if (m.content.get("m.relates_to") or {}).get("m.in_reply_to", {}).get("event_id") == event_id]


async def joined(owner: MatrixUser, room: str, *user_ids: str) -> None:
    deadline = time.monotonic() + 60
    while not set(user_ids) <= set(await owner.joined_members(room)):
        assert time.monotonic() < deadline, "the bot or a guest never joined"
        await asyncio.sleep(0.2)


async def test_encrypted_rooms_keep_working_across_kill_9_and_a_leader_change(
        synapse: Synapse, postgres_engine: Engine, tmp_path: Path) -> None:
    bot = synapse.register(unique("cercle"))
    env = {"CERCLE_DATABASE_URL": postgres_engine.url.render_as_string(hide_password=False),
           "MATRIX_HOMESERVER": synapse.url, "MATRIX_USER_ID": bot.user_id, "MATRIX_PASSWORD": bot.password,
           "CERCLE_SECRET_KEY": SECRET, "CERCLE_ADMINS": "console:admin"}
    alice = MatrixUser(synapse, synapse.register(unique("alice")), store_dir=str(tmp_path / "alice"))
    bob = MatrixUser(synapse, synapse.register(unique("bob")), store_dir=str(tmp_path / "bob"))
    processes: list[CercleProcess] = []
    commands: list[tuple[MatrixUser, str, str]] = []  # (who, room, command event id)

    def start() -> CercleProcess:
        process = CercleProcess(tmp_path, env)
        processes.append(process)
        return process

    async def ask(who: MatrixUser, room: str, text: str) -> str:
        event_id = await who.send(room, text)
        commands.append((who, room, event_id))
        return event_id

    async def answered(who: MatrixUser, room: str, event_id: str, contains: str) -> None:
        await who.expect(room, sender=bot.user_id, contains=contains, timeout=60,
                         where=lambda s: (s.content.get("m.relates_to") or {}).get("m.in_reply_to", {})
                         .get("event_id") == event_id)

    try:
        await alice.start()
        await bob.start()
        first = start()
        await asyncio.to_thread(first.wait_leading)
        direct = await alice.create_room([bot.user_id], direct=True, encrypted=True)
        group = await alice.create_room([bot.user_id, bob.user_id], name="team", encrypted=True)
        await joined(alice, direct, bot.user_id)
        await joined(alice, group, bot.user_id, bob.user_id)

        await answered(alice, direct, await ask(alice, direct, "profile skills one"), "Your skills: one")
        await answered(bob, group, await ask(bob, group, '!cercle community create club "Club"'), "created")
        await answered(bob, group, await ask(bob, group, "!cercle community link club"), "now linked")

        # kill -9 in the middle of its life; commands typed while it is down are answered by the next one.
        await asyncio.to_thread(first.kill)
        down_direct = await ask(alice, direct, "profile skills one, two")
        down_group = await ask(bob, group, "!cercle community list")
        second = start()
        await asyncio.to_thread(second.wait_leading)
        await answered(alice, direct, down_direct, "Your skills: one, two")
        await answered(bob, group, down_group, "club")

        # A second replica follows; the leader dies; the follower takes the device over and carries on.
        third = start()
        await asyncio.to_thread(third.wait_following)
        await answered(alice, direct, await ask(alice, direct, "profile skills three"), "Your skills: three")
        await asyncio.to_thread(second.kill)
        await asyncio.to_thread(third.wait_leading)
        await answered(alice, direct, await ask(alice, direct, "profile skills four"), "Your skills: four")
        await answered(bob, group, await ask(bob, group, "!cercle community info club"), "Club")
        # The new leader's delivery worker posts to the encrypted community room.
        mark = alice.mark()
        await ask(bob, group, '!cercle share club https://example.org/a "Article"')
        await alice.expect(group, sender=bot.user_id, contains="shared a resource", after=mark, timeout=60)

        await asyncio.sleep(2)  # a late duplicate would show by now
        for who, room, event_id in commands:
            assert len(replies_to(who, room, bot.user_id, event_id)) == 1, (room, event_id)
        for who, room in ((alice, direct), (bob, group)):
            assert not [e for e in who.undecryptable if e.sender == bot.user_id]
            for message in who.messages(room, sender=bot.user_id):
                assert (await who.raw_event(room, message.event_id))["type"] == "m.room.encrypted"
    finally:
        for process in processes:
            with suppress(Exception):
                await asyncio.to_thread(process.kill)
        for person in (alice, bob):
            with suppress(Exception):
                await person.stop()
