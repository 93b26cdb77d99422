"""People on the test homeserver, and the bot running against it over a test database.

`MatrixUser` is a real matrix-nio client with encryption on (as Element: its own key store in a temporary
folder, unverified devices trusted) that syncs in the background and records what it sees (decrypted), so a
test writes `await alice.send(room, "!cercle help")` and `await alice.expect(room, contains="…")`.
`MatrixBot` runs the Cercle adapter and its delivery worker the way `cercle run` does, and can be
stopped and started again on the same database.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
import uuid
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, fields, replace
from typing import Any

from nio import (
    Api,
    AsyncClient,
    AsyncClientConfig,
    InviteInfo,
    MegolmEvent,
    RoomCreateResponse,
    RoomPreset,
    RoomSendResponse,
    SyncResponse,
)
from sqlalchemy.engine import Engine

from adapters.matrix.adapter import MatrixAdapter
from adapters.matrix.platform import NAME, MatrixSettings
from bot.app import Application, build
from bot.clock import SystemClock
from bot.outbox.worker import DeliveryWorker
from bot.settings import Settings
from tests.support.synapse import MatrixAccount, Synapse


@dataclass(frozen=True)
class Seen:
    room_id: str
    source: dict[str, Any]

    @property
    def sender(self) -> str:
        return str(self.source.get("sender", ""))

    @property
    def event_id(self) -> str:
        return str(self.source.get("event_id", ""))

    @property
    def type(self) -> str:
        return str(self.source.get("type", ""))

    @property
    def content(self) -> dict[str, Any]:
        return dict(self.source.get("content") or {})

    @property
    def body(self) -> str:
        return str(self.content.get("body", ""))

    @property
    def html(self) -> str:
        return str(self.content.get("formatted_body", ""))


class MatrixUser:
    """A person with a Matrix client: sends, reacts, joins invitations, and records every event."""

    def __init__(self, synapse: Synapse, account: MatrixAccount, *, auto_join: bool = True,
                 store_dir: str | None = None) -> None:
        self.account = account
        self.user_id = account.user_id
        self.store_dir = store_dir or tempfile.mkdtemp(prefix="cercle-matrix-user-")
        os.makedirs(self.store_dir, exist_ok=True)
        config = AsyncClientConfig(max_limit_exceeded=0, store_sync_tokens=False, encryption_enabled=True)
        self.client = AsyncClient(synapse.url, account.user_id, device_id=account.device_id,
                                  store_path=self.store_dir, config=config)
        self.client.restore_login(account.user_id, account.device_id, account.access_token)
        self.undecryptable: list[Seen] = []
        self.auto_join = auto_join
        self.seen: list[Seen] = []
        self.invites: list[str] = []
        self._task: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()

    async def start(self) -> None:
        if self.client.should_upload_keys:
            await self.client.keys_upload()
        first = await self.client.sync(timeout=0, full_state=True)
        assert isinstance(first, SyncResponse), first
        await self._duties()
        self._task = asyncio.create_task(self._loop())

    async def _duties(self) -> None:
        """What Element does after each sync: publish keys, follow devices, send queued room keys."""
        client = self.client
        if client.should_upload_keys:
            await client.keys_upload()
        if client.should_query_keys:
            await client.keys_query()
        if client.should_claim_keys:
            await client.keys_claim(client.get_users_for_key_claiming())
        await client.send_to_device_messages()

    async def _loop(self) -> None:
        while True:
            response = await self.client.sync(timeout=5000)
            if not isinstance(response, SyncResponse):
                await asyncio.sleep(0.2)
                continue
            for room_id, info in response.rooms.join.items():
                for event in info.timeline.events:
                    seen = Seen(room_id, event.source)
                    if isinstance(event, MegolmEvent):
                        self.undecryptable.append(seen)
                    else:
                        self.seen.append(seen)
            for room_id, invite in response.rooms.invite.items():
                await self._invited(room_id, invite)
            await self._duties()
            self._changed.set()

    async def _invited(self, room_id: str, invite: InviteInfo) -> None:
        if room_id not in self.invites:
            self.invites.append(room_id)
            if self.auto_join:
                await self.client.join(room_id)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
        await self.client.close()

    # -- acting --------------------------------------------------------------------------------------
    async def create_room(self, invite: list[str], name: str = "", *, direct: bool = False,
                          alias: str | None = None, encrypted: bool = False) -> str:
        initial = [{"type": "m.room.encryption", "state_key": "",
                    "content": {"algorithm": "m.megolm.v1.aes-sha2"}}] if encrypted else []
        response = await self.client.room_create(name=name or None, invite=invite, is_direct=direct,
                                                 alias=alias, preset=RoomPreset.private_chat, initial_state=initial,
                                                 power_level_override={"users": {u: 50 for u in invite}})
        assert isinstance(response, RoomCreateResponse), response
        return response.room_id

    async def invite(self, room_id: str, user_id: str) -> None:
        await self.client.room_invite(room_id, user_id)

    async def send(self, room_id: str, text: str, *, html: str | None = None, thread: str | None = None,
                   reply_to: str | None = None) -> str:
        content: dict[str, Any] = {"msgtype": "m.text", "body": text}
        if html is not None:
            content.update(format="org.matrix.custom.html", formatted_body=html)
        if thread:
            content["m.relates_to"] = {"rel_type": "m.thread", "event_id": thread}
        elif reply_to:
            content["m.relates_to"] = {"m.in_reply_to": {"event_id": reply_to}}
        return await self.send_event(room_id, "m.room.message", content)

    async def send_event(self, room_id: str, event_type: str, content: dict[str, Any]) -> str:
        """Any room event, encrypted where the room is (to every device, verified or not, as Element does)."""
        deadline = time.monotonic() + 15
        while room_id not in self.client.rooms:  # a room just created or joined: known from the next sync
            assert time.monotonic() < deadline, f"{self.user_id} never synced the room {room_id}"
            await asyncio.sleep(0.05)
        if self.client.should_query_keys:
            await self.client.keys_query()
        room = self.client.rooms.get(room_id)
        if room is not None and room.encrypted and not room.members_synced:
            await self.client.joined_members(room_id)
        response = await self.client.room_send(room_id, event_type, content, tx_id=uuid.uuid4().hex,
                                               ignore_unverified_devices=True)
        assert isinstance(response, RoomSendResponse), response
        return str(response.event_id)

    async def react(self, room_id: str, event_id: str, key: str) -> str:
        content = {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": key}}
        return await self.send_event(room_id, "m.reaction", content)

    # -- observing -----------------------------------------------------------------------------------
    def mark(self) -> int:
        """A position in what this user saw; `expect(after=mark)` looks only at later events."""
        return len(self.seen)

    async def expect(self, room_id: str | None = None, *, contains: str = "", sender: str | None = None,
                     after: int = 0, timeout: float = 15.0, where: Callable[[Seen], bool] | None = None,
                     types: tuple[str, ...] = ("m.room.message",)) -> Seen:
        """The first event (of `types`, a message by default) after `after` matching; fails with what was
        seen instead."""
        deadline = time.monotonic() + timeout
        while True:
            for item in self.seen[after:]:
                if room_id is not None and item.room_id != room_id:
                    continue
                if item.type not in types:
                    continue
                if sender is not None and item.sender != sender:
                    continue
                if contains and contains not in item.body:
                    continue
                if where is not None and not where(item):
                    continue
                return item
            left = deadline - time.monotonic()
            if left <= 0:
                bodies = [f"{s.room_id[:8]} {s.sender}: {s.body[:120]}" for s in self.seen[after:]
                          if s.type == "m.room.message"]
                raise AssertionError(f"{self.user_id} never saw {contains!r} in {room_id}; saw: {bodies}")
            self._changed.clear()
            with suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout=min(left, 0.5))

    def messages(self, room_id: str, *, sender: str | None = None, after: int = 0) -> list[Seen]:
        return [s for s in self.seen[after:] if s.room_id == room_id and s.type == "m.room.message"
                and (sender is None or s.sender == sender)]

    async def notifications(self) -> list[dict[str, Any]]:
        """What the homeserver's push rules made a notification for this user (`/notifications`)."""
        return list((await self.get("/_matrix/client/v3/notifications?limit=100")).get("notifications", []))

    async def set_profile_field(self, name: str, value: str) -> None:
        """A field of the user's profile (like the time zone `m.tz` that clients set)."""
        assert self.client.client_session is not None
        url = f"{self.client.homeserver}/_matrix/client/v3/profile/{self.user_id}/{name}"
        headers = {"Authorization": f"Bearer {self.client.access_token}"}
        async with self.client.client_session.put(url, json={name: value}, headers=headers) as response:
            assert response.status == 200, await response.text()

    async def get(self, path: str) -> dict[str, Any]:
        assert self.client.client_session is not None
        headers = {"Authorization": f"Bearer {self.client.access_token}"}
        async with self.client.client_session.get(self.client.homeserver + path, headers=headers) as response:
            assert response.status == 200, await response.text()
            return dict(await response.json())

    async def raw_event(self, room_id: str, event_id: str) -> dict[str, Any]:
        """The event as the homeserver holds it (not decrypted)."""
        _method, path = Api.room_get_event(self.client.access_token, room_id, event_id)
        assert self.client.client_session is not None
        async with self.client.client_session.get(self.client.homeserver + path) as response:
            return dict(await response.json())

    async def joined_members(self, room_id: str) -> list[str]:
        response = await self.client.joined_members(room_id)
        return [m.user_id for m in getattr(response, "members", [])]


class MatrixBot:
    """The Cercle adapter plus a delivery worker, like `cercle run` with Matrix only."""

    def __init__(self, app: Application, **adapter_options: Any) -> None:
        self.app = app
        self.options: dict[str, Any] = {"sync_timeout_ms": 5000, "backoff_base": 0.2, "backoff_cap": 2.0,
                                        **adapter_options}
        self.adapter: MatrixAdapter | None = None
        self.worker: DeliveryWorker | None = None
        self._worker_task: asyncio.Task[None] | None = None

    async def start(self, *, timeout: float = 20.0) -> MatrixAdapter:
        self.adapter = MatrixAdapter(self.app.core, self.app.settings.section("matrix"), **self.options)
        await self.adapter.start()
        await asyncio.wait_for(self.adapter.ready.wait(), timeout=timeout)
        self.worker = DeliveryWorker(self.app.engine, {"matrix": self.adapter.sender}, clock=self.app.clock,
                                     poll_interval=0.2, notifier=self.app.outbox.notifier,
                                     guard=self.app.assembly.delivery_guards(self.app.settings))
        self._worker_task = asyncio.create_task(self.worker.run())
        return self.adapter

    async def stop(self) -> None:
        if self.worker and self._worker_task:
            self.worker.stop()
            with suppress(Exception):
                await asyncio.wait_for(self._worker_task, timeout=5)
        if self.adapter:
            await self.adapter.stop()


SECRET = "a test CERCLE_SECRET_KEY of forty characters"


def matrix_settings(base: Settings, synapse: Synapse, bot: MatrixAccount, **changes: Any) -> Settings:
    """The bot's Matrix settings over `base`; `changes` name a Matrix setting (`password=...`) or a core one.
    Matrix needs CERCLE_SECRET_KEY (the bot's encryption keys are sealed with it): a test key by default."""
    section_fields = {f.name for f in fields(MatrixSettings)}
    changes.setdefault("secret_keys", base.secret_keys or (SECRET,))
    section = MatrixSettings(**{"homeserver": synapse.url, "user_id": bot.user_id, "password": bot.password,
                                **{k: v for k, v in changes.items() if k in section_fields}})
    return replace(base, **{k: v for k, v in changes.items() if k not in section_fields}).with_section(NAME, section)


def matrix_app(settings: Settings, engine: Engine) -> Application:
    return build(settings, clock=SystemClock(), migrate=False, engine=engine)


def unique(name: str) -> str:
    return f"{name}{uuid.uuid4().hex[:6]}"


class MatrixWorld:
    """One test's Matrix: fresh accounts on the shared homeserver, the bot over the test's database."""

    def __init__(self, synapse: Synapse, engine: Engine, base: Settings) -> None:
        self.synapse = synapse
        self.engine = engine
        self.base = base
        self.bot_account = synapse.register(unique("cercle"))
        self.users: list[MatrixUser] = []
        self.bots: list[MatrixBot] = []
        self.app: Application | None = None

    def settings(self, **changes: Any) -> Settings:
        return matrix_settings(self.base, self.synapse, self.bot_account, **changes)

    def build(self, **changes: Any) -> Application:
        self.app = matrix_app(self.settings(**changes), self.engine)
        return self.app

    async def start_bot(self, *, adapter_options: dict[str, Any] | None = None, **changes: Any) -> MatrixBot:
        """Start the bot (building the app on first use); a second call is a restart on the same database."""
        app = self.app or self.build(**changes)
        bot = MatrixBot(app, **(adapter_options or {}))
        self.bots.append(bot)
        await bot.start()
        return bot

    async def user(self, name: str, *, auto_join: bool = True) -> MatrixUser:
        person = MatrixUser(self.synapse, self.synapse.register(unique(name)), auto_join=auto_join)
        await person.start()
        self.users.append(person)
        return person

    @property
    def bot_id(self) -> str:
        return self.bot_account.user_id

    async def room_with_bot(self, owner: MatrixUser, *others: MatrixUser, name: str = "general") -> str:
        """A group room created by `owner`, with the bot and `others` joined."""
        room = await owner.create_room([self.bot_id, *(o.user_id for o in others)], name=name)
        await self.joined(owner, room, *others)
        return room

    async def direct_room(self, owner: MatrixUser) -> str:
        """A direct room (`is_direct`) that `owner` opens with the bot, once the bot is in."""
        room = await owner.create_room([self.bot_id], direct=True)
        await self.joined(owner, room)
        return room

    async def joined(self, owner: MatrixUser, room: str, *others: MatrixUser) -> None:
        deadline = time.monotonic() + 15
        wanted = {self.bot_id, *(o.user_id for o in others)}
        while not wanted <= set(await owner.joined_members(room)):
            assert time.monotonic() < deadline, "the bot or a guest never joined the room"
            await asyncio.sleep(0.1)

    async def close(self) -> None:
        for bot in self.bots:
            with suppress(Exception):
                await bot.stop()
        for person in self.users:
            with suppress(Exception):
                await person.stop()
