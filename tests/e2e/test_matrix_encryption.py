"""End-to-end encryption on the real Synapse: people whose clients encrypt (as Element does) talk with
the bot in an encrypted direct room and an encrypted group room; the bot's crypto state lives in the
database and survives a kill and a restart (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from bot.settings import Settings
from tests.support.matrix import unique
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
        self.settings = replace(settings, matrix_homeserver=synapse.url, matrix_user_id=self.bot_account.user_id,
                                matrix_password=self.bot_account.password, secret_keys=(SECRET,))
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
