"""End-to-end encryption on the real Synapse: people whose clients encrypt (as Element does) talk with
the bot in an encrypted direct room and an encrypted group room; the bot's crypto state lives in the
database and survives a kill and a restart (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from nio import RoomSendResponse, ToDeviceMessage, ToDeviceResponse
from sqlalchemy.engine import Engine

from adapters.matrix.e2e.claim import DeviceTakenOver
from adapters.matrix.e2e.cross_signing import canonical, unb64
from adapters.matrix.e2e.device import open_crypto_client
from adapters.matrix.platform import NAME
from bot.leadership import Leadership, conninfo
from bot.secret_box import SecretKeyMissing, SecretUnreadable
from bot.settings import Settings
from storage.db import make_engine
from tests.support.crypto_bot_process import BotProcess
from tests.support.matrix import matrix_settings, unique
from tests.support.matrix_e2e import CryptoBot, EncryptedUser
from tests.support.synapse import MatrixAccount, Synapse

pytestmark = pytest.mark.synapse

SECRET = "a test CERCLE_SECRET_KEY of forty characters"


class Scene:
    def __init__(self, synapse: Synapse, engine: Engine, settings: Settings, folder: Path) -> None:
        self.synapse = synapse
        self.engine = engine
        self.folder = folder
        self.bot_account = synapse.register(unique("cercle"))
        self.settings = matrix_settings(settings, synapse, self.bot_account, secret_keys=(SECRET,))
        self.users: list[EncryptedUser] = []
        self.bots: list[CryptoBot] = []

    @property
    def bot_id(self) -> str:
        return self.bot_account.user_id

    async def person(self, name: str) -> EncryptedUser:
        account: MatrixAccount = self.synapse.register(unique(name))
        user = EncryptedUser(self.synapse, account, self.folder / account.user_id)
        await user.start()
        self.users.append(user)
        return user

    async def bot(self, engine: Engine | None = None) -> CryptoBot:
        bot = CryptoBot(engine or self.engine, self.settings)
        self.bots.append(bot)
        await bot.start()
        return bot

    async def rooms(self, alice: EncryptedUser, bob: EncryptedUser) -> tuple[str, str]:
        """Alice's encrypted direct room with the bot, and an encrypted group room of Alice, Bob and the bot."""
        direct = await alice.create_room([self.bot_id], direct=True)
        group = await alice.create_room([self.bot_id, bob.user_id], name="team")
        await alice.sees_members(direct, self.bot_id)
        await alice.sees_members(group, self.bot_id, bob.user_id)
        await bob.sees_members(group, self.bot_id, alice.user_id)
        return direct, group

    async def close(self) -> None:
        for bot in self.bots:
            await bot.stop()
        for user in self.users:
            await user.stop()


@pytest.fixture
async def scene(synapse: Synapse, engine: Engine, settings: Settings, tmp_path: Path) -> AsyncIterator[Scene]:
    world = Scene(synapse, engine, settings, tmp_path)
    yield world
    await world.close()


async def echo(user: EncryptedUser, room: str, text: str, bot_id: str) -> None:
    """The user's encrypted message is read by the bot, whose encrypted answer the user reads."""
    mark = user.mark()
    await user.send(room, f"!echo {text}")
    answer = await user.expect(room, contains=f"echo: {text}", sender=bot_id, after=mark)
    assert answer.encrypted and answer.type == "m.room.message"


async def test_the_bot_reads_and_answers_in_encrypted_direct_and_group_rooms(scene: Scene) -> None:
    bot = await scene.bot()
    alice, bob = await scene.person("alice"), await scene.person("bob")
    direct, group = await scene.rooms(alice, bob)

    await echo(alice, direct, "a secret nomination", scene.bot_id)
    mark = alice.mark()
    await echo(bob, group, "hello team", scene.bot_id)
    seen = await alice.expect(group, contains="echo: hello team", sender=scene.bot_id, after=mark)
    assert seen.encrypted  # the other member reads the bot's answer too
    assert [body for _room, _event, body in bot.answered] == ["!echo a secret nomination", "!echo hello team"]
    assert bot.undecryptable == [] and bot.problems == []


def bot_sessions(user: EncryptedUser, room: str, bot_id: str) -> set[str]:
    return {h.session_id for h in user.heard if h.room_id == room and h.sender == bot_id}


def bot_devices_seen_by(user: EncryptedUser, bot_id: str) -> list[tuple[str, str]]:
    return [(d.id, d.ed25519) for d in user.client.device_store.active_user_devices(bot_id)]


async def test_after_kill_9_a_new_process_goes_on_in_the_same_rooms(scene: Scene, database_url: str) -> None:
    env = {"CERCLE_DATABASE_URL": database_url, "MATRIX_HOMESERVER": scene.synapse.url,
           "MATRIX_USER_ID": scene.bot_id, "MATRIX_PASSWORD": scene.bot_account.password, "CERCLE_SECRET_KEY": SECRET}
    first = BotProcess(env)
    before = await first.start()
    try:
        alice, bob = await scene.person("alice"), await scene.person("bob")
        direct, group = await scene.rooms(alice, bob)
        await echo(alice, direct, "before", scene.bot_id)
        await echo(bob, group, "before in the group", scene.bot_id)
        devices = bot_devices_seen_by(alice, scene.bot_id)
        assert devices == [(before["device_id"], before["ed25519"])]
        # Killed while a message is on its way: whatever it had done, its successor must cope.
        mark = alice.mark()
        await alice.send(direct, "!echo during")
    finally:
        await first.kill()

    second = BotProcess(env)
    after = await second.start()
    try:
        assert (after["device_id"], after["ed25519"]) == (before["device_id"], before["ed25519"])
        await alice.expect(direct, contains="echo: during", sender=scene.bot_id, after=mark,
                           where=lambda heard: heard.encrypted)
        await echo(alice, direct, "after", scene.bot_id)
        await echo(bob, group, "after in the group", scene.bot_id)
        mark = alice.mark()
        await echo(bob, group, "once more", scene.bot_id)
        await alice.expect(group, contains="echo: once more", sender=scene.bot_id, after=mark,
                           where=lambda heard: heard.encrypted)
        # The successor took up the room's Megolm session: no new key had to be shared with everyone.
        assert len(bot_sessions(bob, group, scene.bot_id)) == 1
        # Same single device for the people: nothing new to verify, no second session of the bot.
        assert bot_devices_seen_by(alice, scene.bot_id) == devices
        assert bot_devices_seen_by(bob, scene.bot_id) == devices
        assert "!echo after" in second.answered and "!echo after" not in first.answered
    finally:
        await second.kill()


async def test_someone_who_left_while_the_bot_was_down_gets_no_key_to_what_follows(scene: Scene) -> None:
    bot = await scene.bot()
    alice, bob = await scene.person("alice"), await scene.person("bob")
    _direct, group = await scene.rooms(alice, bob)
    await echo(alice, group, "all three of us", scene.bot_id)
    before = bot_sessions(alice, group, scene.bot_id)
    await bot.kill()
    await bob.client.room_leave(group)
    await until(lambda: bob.user_id not in alice.client.rooms[group].users, "Alice sees Bob leave")

    successor = await scene.bot()
    await echo(alice, group, "just the two of us", scene.bot_id)
    after = bot_sessions(alice, group, scene.bot_id) - before
    assert len(after) == 1, "the saved session was shared with Bob: a new one is needed"
    assert successor.client is not None
    bot_key = successor.client.identity_keys["curve25519"]
    assert bob.client.olm.inbound_group_store.get(group, bot_key, after.pop()) is None


async def test_a_direct_room_the_bot_opens_is_readable_by_the_invited_person(scene: Scene) -> None:
    bot = await scene.bot()
    alice = await scene.person("alice")
    room = await bot.open_direct_room(alice.user_id)
    await bot.say(room, "your nomination was received")  # sent before Alice accepted the invitation
    heard = await alice.expect(room, contains="your nomination was received", sender=scene.bot_id)
    assert heard.encrypted
    await echo(alice, room, "thanks", scene.bot_id)


async def test_a_message_whose_room_key_comes_late_is_read_when_it_comes(scene: Scene) -> None:
    bot = await scene.bot()
    alice, bob = await scene.person("alice"), await scene.person("bob")
    direct, _group = await scene.rooms(alice, bob)
    await echo(alice, direct, "warm up", scene.bot_id)  # Olm sessions both ways exist
    event_id, session_id, key = await send_without_key(alice, direct, "!echo late key")
    await until(lambda: event_id in bot.undecryptable, "the bot got the message it cannot read yet")
    await send_key(alice, direct, session_id, key, scene.bot_id)
    await alice.expect(direct, contains="echo: late key", sender=scene.bot_id)
    assert bot.answered[-1][1:] == (event_id, "!echo late key")


async def until(predicate: Callable[[], object], what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        await asyncio.sleep(0.05)


async def send_without_key(user: EncryptedUser, room: str, text: str) -> tuple[str, str, str]:
    """A message encrypted with a new Megolm session whose key is not sent yet (as when the to-device
    message is slower than the room event). Returns the event id, the session id and its first key."""
    olm = user.client.olm
    olm.create_outbound_group_session(room)
    session = olm.outbound_group_sessions[room]
    key_at_start = session.session_key
    session.shared = True
    response = await user.client.room_send(room, "m.room.message", {"msgtype": "m.text", "body": text},
                                           ignore_unverified_devices=True)
    assert isinstance(response, RoomSendResponse), response
    return str(response.event_id), session.id, key_at_start


async def send_key(user: EncryptedUser, room: str, session_id: str, key: str, bot_id: str) -> None:
    olm = user.client.olm
    device = next(iter(olm.device_store.active_user_devices(bot_id)))
    content = {"algorithm": "m.megolm.v1.aes-sha2", "room_id": room, "session_id": session_id, "session_key": key}
    payload = olm._olm_encrypt(olm.session_store.get(device.curve25519), device, "m.room_key", content)
    answer = await user.client.to_device(ToDeviceMessage("m.room.encrypted", bot_id, device.id, payload))
    assert isinstance(answer, ToDeviceResponse), answer


class Replica:
    """One replica: campaigns for the leadership; as leader it builds the bot's encrypting client from the
    database (the crypto duties are leader-only), as follower it holds none. `notices_demotion=False` plays
    an old leader that has not noticed yet that it lost the lock: its client keeps running."""

    def __init__(self, scene: Scene, engine: Engine, *, notices_demotion: bool = True) -> None:
        self.scene = scene
        self.engine = engine
        self.notices_demotion = notices_demotion
        self.leadership = Leadership(engine, interval=0.3)
        self.bot: CryptoBot | None = None
        self.bots: list[CryptoBot] = []
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self.leadership.run(self._elected, self._demoted))

    async def _elected(self) -> None:
        bot = CryptoBot(self.engine, self.scene.settings)
        self.bots.append(bot)
        await bot.start()
        self.bot = bot

    async def _demoted(self) -> None:
        if self.bot is not None and self.notices_demotion:
            await self.bot.kill()
            self.bot = None

    async def stop(self) -> None:
        self.leadership.stop()
        if self.task is not None:
            await self.task
        for bot in self.bots:
            await bot.stop()


def answers(user: EncryptedUser, room: str, bot_id: str, after: int) -> list[str]:
    return [h.body for h in user.heard[after:] if h.room_id == room and h.sender == bot_id]


@pytest.mark.postgres_only
async def test_a_new_leader_takes_the_device_over_and_the_old_one_can_no_longer_use_it(
        synapse: Synapse, postgres_engine: Engine, tmp_path: Path) -> None:
    url = postgres_engine.url.render_as_string(hide_password=False)
    scene = Scene(synapse, postgres_engine, Settings(database_url=url), tmp_path)
    engines = [make_engine(url), make_engine(url)]  # two processes' connection pools
    first = Replica(scene, engines[0], notices_demotion=False)
    second = Replica(scene, engines[1])
    try:
        first.start()
        await until(lambda: first.bot is not None, "the first replica leads", timeout=30)
        second.start()
        alice, bob = await scene.person("alice"), await scene.person("bob")
        direct, group = await scene.rooms(alice, bob)
        await echo(alice, direct, "to the first leader", scene.bot_id)
        await echo(bob, group, "to the first leader too", scene.bot_id)
        assert second.bot is None  # a follower holds no crypto client
        old = first.bot
        assert old is not None and old.client is not None

        # The leader's database session dies (a crashed pod, a network cut): the other replica takes over,
        # while the old leader's client, not told yet, goes on syncing.
        assert first.leadership._conn is not None
        with psycopg.connect(conninfo(postgres_engine), autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (first.leadership._conn.info.backend_pid,))
        await until(lambda: second.bot is not None, "the second replica leads", timeout=30)
        marks = alice.mark(), bob.mark()
        await echo(alice, direct, "to the new leader", scene.bot_id)
        await echo(bob, group, "to the new leader too", scene.bot_id)
        await echo(alice, group, "and once more", scene.bot_id)
        # The old client stops at its next sync, having sent nothing: each message is answered once.
        await until(lambda: old.stopped_by is not None, "the old leader's client stops", timeout=15)
        assert isinstance(old.stopped_by, DeviceTakenOver)
        await asyncio.sleep(1.0)
        assert answers(alice, direct, scene.bot_id, marks[0]) == ["echo: to the new leader"]
        assert sorted(answers(bob, group, scene.bot_id, marks[1])) == ["echo: and once more",
                                                                       "echo: to the new leader too"]
        assert len(bot_devices_seen_by(alice, scene.bot_id)) == 1
        assert bot_devices_seen_by(alice, scene.bot_id) == bot_devices_seen_by(bob, scene.bot_id)

        # Nor can it send an encrypted message any more: it is refused before anything leaves.
        old.client.olm.outbound_group_sessions.pop(group, None)
        mark = alice.mark()
        with pytest.raises(DeviceTakenOver):
            await old.client.room_send(group, "m.room.message", {"msgtype": "m.notice", "body": "from the past"})
        await echo(alice, group, "still fine", scene.bot_id)
        assert answers(alice, group, scene.bot_id, mark) == ["echo: still fine"]
    finally:
        await second.stop()
        await first.stop()
        await scene.close()
        for engine in engines:
            engine.dispose()


async def test_the_database_without_cercle_secret_key_gives_no_access_to_the_device(scene: Scene) -> None:
    bot = await scene.bot()
    alice = await scene.person("alice")
    room = await alice.create_room([scene.bot_id], direct=True)
    await alice.sees_members(room, scene.bot_id)
    await echo(alice, room, "first", scene.bot_id)
    with pytest.raises(SecretKeyMissing):
        await open_crypto_client(scene.engine, scene.settings.section(NAME), ())
    with pytest.raises(SecretUnreadable):
        await open_crypto_client(scene.engine, scene.settings.section(NAME), ("another key " * 4,))
    await echo(alice, room, "the device was not taken", scene.bot_id)  # the failed attempts changed nothing
    assert bot.problems == []


def signed_by(obj: dict[str, Any], user_id: str, public: str) -> bool:
    """Does `obj` carry a valid signature of the ed25519 key `public`? (as a client checks it)"""
    signature = obj.get("signatures", {}).get(user_id, {}).get(f"ed25519:{public}")
    if signature is None:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(unb64(public)).verify(unb64(signature), canonical(obj))
    except InvalidSignature:
        return False
    return True


async def published_identity(user: EncryptedUser, bot_id: str) -> dict[str, Any]:
    body = json.dumps({"device_keys": {bot_id: []}})
    response = await user.client.send("POST", "/_matrix/client/v3/keys/query", body,
                                      headers={"Authorization": f"Bearer {user.client.access_token}"})
    return dict(await response.json())


async def test_the_bot_cross_signs_its_device_once_and_keeps_its_identity(scene: Scene) -> None:
    bot = await scene.bot()
    assert bot.client is not None and bot.client.cross_signing == "cross-signed"
    alice = await scene.person("alice")
    published = await published_identity(alice, scene.bot_id)
    master = next(iter(published["master_keys"][scene.bot_id]["keys"].values()))
    self_signing = published["self_signing_keys"][scene.bot_id]
    ssk = next(iter(self_signing["keys"].values()))
    device = published["device_keys"][scene.bot_id][bot.client.device_id]
    assert signed_by(self_signing, scene.bot_id, master)
    assert signed_by(device, scene.bot_id, ssk)  # the bot's device is verified by its owner
    assert not signed_by(device, scene.bot_id, master)

    await bot.kill()
    again = await scene.bot()  # a restart keeps the identity: nothing for people to re-verify
    assert again.client is not None and again.client.cross_signing == "cross-signed"
    later = await published_identity(alice, scene.bot_id)
    assert next(iter(later["master_keys"][scene.bot_id]["keys"].values())) == master
    assert later["device_keys"][scene.bot_id][bot.client.device_id]["signatures"] == device["signatures"]
