"""Encrypted Matrix conversations for the tests: people whose client encrypts as Element does, and the
bot's encrypting client run the way the adapter will run it.

`EncryptedUser` is a matrix-nio client with encryption on and its own crypto store in a folder: it
publishes its keys, follows the devices of the people it shares rooms with, and sends with
`ignore_unverified_devices` (Element's default: nobody verified anything). It records every room event
it sees, decrypted when it could (`Heard.encrypted` says the event travelled encrypted).

`CryptoBot` builds the bot's client with `open_crypto_client` (crypto state in Cercle's database),
syncs with the crypto duties after each batch (the sync token kept in the database), joins invitations
and answers `!echo <text>` with `echo: <text>` in the same room. It can be killed (no clean close) and
built again on the same database.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nio import (
    AsyncClient,
    AsyncClientConfig,
    Event,
    MegolmEvent,
    RoomCreateResponse,
    RoomMessageNotice,
    RoomMessageText,
    RoomPreset,
    RoomSendResponse,
    SyncResponse,
)
from sqlalchemy.engine import Engine

from adapters.matrix.e2e.client import CryptoClient
from adapters.matrix.e2e.device import open_crypto_client
from adapters.matrix.platform import NAME
from bot.settings import Settings
from tests.support.synapse import MatrixAccount, Synapse

ENCRYPTION = {"type": "m.room.encryption", "state_key": "", "content": {"algorithm": "m.megolm.v1.aes-sha2"}}


@dataclass(frozen=True)
class Heard:
    room_id: str
    sender: str
    event_id: str
    type: str  # m.room.message once decrypted, m.room.encrypted when it could not be
    body: str
    encrypted: bool
    session_id: str  # the Megolm session it was encrypted with ("" in clear)
    at: float


def _heard(room_id: str, event: Event) -> Heard:
    source: dict[str, Any] = event.source or {}
    body = str((source.get("content") or {}).get("body", ""))
    kind = "m.room.encrypted" if isinstance(event, MegolmEvent) else str(source.get("type", ""))
    return Heard(room_id, event.sender, event.event_id, kind, body, bool(getattr(event, "decrypted", False)),
                 str(getattr(event, "session_id", "") or ""), time.monotonic())


class EncryptedUser:
    """A person with an encrypting client (its own nio store under `store_dir`)."""

    def __init__(self, synapse: Synapse, account: MatrixAccount, store_dir: Path) -> None:
        store_dir.mkdir(parents=True, exist_ok=True)
        self.account = account
        self.user_id = account.user_id
        config = AsyncClientConfig(max_limit_exceeded=0, store_sync_tokens=False, encryption_enabled=True)
        self.client = AsyncClient(synapse.url, account.user_id, device_id=account.device_id,
                                  store_path=str(store_dir), config=config)
        self.client.restore_login(account.user_id, account.device_id, account.access_token)
        self.heard: list[Heard] = []
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
            response = await self.client.sync(timeout=3000)
            if not isinstance(response, SyncResponse):
                await asyncio.sleep(0.2)
                continue
            for room_id in response.rooms.invite:
                await self.client.join(room_id)
            for room_id, info in response.rooms.join.items():
                self.heard.extend(_heard(room_id, e) for e in info.timeline.events
                                  if isinstance(e, (RoomMessageText, RoomMessageNotice, MegolmEvent)))
            await self._duties()
            self._changed.set()

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
        await self.client.close()

    async def create_room(self, invite: list[str], *, direct: bool = False, name: str | None = None) -> str:
        """An encrypted private room (as Element creates direct chats and private rooms)."""
        response = await self.client.room_create(name=name, invite=invite, is_direct=direct,
                                                 preset=RoomPreset.trusted_private_chat if direct
                                                 else RoomPreset.private_chat, initial_state=[ENCRYPTION])
        assert isinstance(response, RoomCreateResponse), response
        return str(response.room_id)

    async def sees_members(self, room_id: str, *user_ids: str, timeout: float = 15.0) -> None:
        """Wait until this client's own view of the room lists them (else it would not share its key)."""
        deadline = time.monotonic() + timeout
        while True:
            room = self.client.rooms.get(room_id)
            if room is not None and all(u in room.users and not room.users[u].invited for u in user_ids):
                return
            assert time.monotonic() < deadline, f"{self.user_id} never saw {user_ids} join {room_id}"
            await asyncio.sleep(0.05)

    async def send(self, room_id: str, text: str) -> str:
        if self.client.should_query_keys:  # devices of people who just joined: before sharing the key
            await self.client.keys_query()
        response = await self.client.room_send(room_id, "m.room.message", {"msgtype": "m.text", "body": text},
                                               tx_id=uuid.uuid4().hex, ignore_unverified_devices=True)
        assert isinstance(response, RoomSendResponse), response
        return str(response.event_id)

    def mark(self) -> int:
        return len(self.heard)

    async def expect(self, room_id: str, *, contains: str, sender: str | None = None, after: int = 0,
                     timeout: float = 20.0, where: Callable[[Heard], bool] | None = None) -> Heard:
        deadline = time.monotonic() + timeout
        while True:
            for item in self.heard[after:]:
                if item.room_id == room_id and contains in item.body and (sender is None or item.sender == sender) \
                        and (where is None or where(item)):
                    return item
            left = deadline - time.monotonic()
            if left <= 0:
                seen = [(h.sender, h.type, h.body[:60]) for h in self.heard[after:] if h.room_id == room_id]
                raise AssertionError(f"{self.user_id} never heard {contains!r} in {room_id}; heard {seen}")
            self._changed.clear()
            with suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout=min(left, 0.5))


class CryptoBot:
    """The bot's encrypting client in a sync loop, as the adapter will run it (leader only)."""

    def __init__(self, engine: Engine, settings: Settings, *, sync_timeout_ms: int = 3000,
                 on_answer: Callable[[str, str, str], None] | None = None) -> None:
        self.engine = engine
        self.on_answer = on_answer
        self.settings = settings
        self.sync_timeout_ms = sync_timeout_ms
        self.client: CryptoClient | None = None
        self.answered: list[tuple[str, str, str]] = []  # (room, event id, decrypted body)
        self.undecryptable: list[str] = []
        self.problems: list[str] = []
        self.startup_ms = 0.0
        self._token: str | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        started = time.monotonic()
        client = self.client = await open_crypto_client(self.engine, self.settings.section(NAME),
                                                        self.settings.secret_keys)
        assert client.crypto_store is not None
        self._token = await asyncio.to_thread(client.crypto_store.load_sync_token)
        first = await client.sync(timeout=0, since=self._token, full_state=True)
        assert isinstance(first, SyncResponse), first
        await self._handle(first, history=self._token is None)
        self.startup_ms = (time.monotonic() - started) * 1000
        self._task = asyncio.create_task(self._loop())

    @property
    def stopped_by(self) -> BaseException | None:
        """What ended the sync loop (None while it runs)."""
        task = self._task
        if task is None or not task.done() or task.cancelled():
            return None
        return task.exception()

    async def _loop(self) -> None:
        assert self.client is not None
        while True:
            response = await self.client.sync(timeout=self.sync_timeout_ms, since=self._token)
            if isinstance(response, SyncResponse):
                await self._handle(response, history=False)
            else:
                await asyncio.sleep(0.2)

    async def _handle(self, response: SyncResponse, *, history: bool) -> None:
        client = self.client
        assert client is not None and client.crypto_store is not None
        for room_id in response.rooms.invite:
            await client.join(room_id)
        if history:
            client.forget_late()
        else:
            for room_id, info in response.rooms.join.items():
                for event in info.timeline.events:
                    await self._on_event(room_id, event)
        for room_id, event in client.decrypt_late():
            await self._on_event(room_id, event)
        self.problems += await client.crypto_duties()
        await asyncio.to_thread(client.crypto_store.save_sync_token, response.next_batch)
        self._token = response.next_batch

    async def _on_event(self, room_id: str, event: Event) -> None:
        assert self.client is not None
        if event.sender == self.client.user_id:
            return
        if isinstance(event, MegolmEvent):
            self.undecryptable.append(event.event_id)
        elif isinstance(event, RoomMessageText) and event.body.startswith("!echo "):
            self.answered.append((room_id, event.event_id, event.body))
            if self.on_answer is not None:
                self.on_answer(room_id, event.event_id, event.body)
            await self.say(room_id, "echo: " + event.body.removeprefix("!echo "), reply_to=event.event_id)

    async def say(self, room_id: str, text: str, *, reply_to: str | None = None) -> str:
        assert self.client is not None
        content: dict[str, Any] = {"msgtype": "m.notice", "body": text}
        if reply_to:
            content["m.relates_to"] = {"m.in_reply_to": {"event_id": reply_to}}
        response = await self.client.room_send(room_id, "m.room.message", content, tx_id=uuid.uuid4().hex)
        assert isinstance(response, RoomSendResponse), response
        return str(response.event_id)

    async def open_direct_room(self, user_id: str) -> str:
        """An encrypted direct room the bot opens with a person (usable at once, before they accept)."""
        assert self.client is not None
        response = await self.client.create_encrypted_room([user_id], direct=True)
        assert isinstance(response, RoomCreateResponse), response
        return str(response.room_id)

    async def kill(self) -> None:
        """Like kill -9: the loop stops wherever it is; nothing is saved or closed on the way out (the
        HTTP session is dropped only so the test leaves no open socket; nio keeps nothing to flush)."""
        if self._task:
            self._task.cancel()
            with suppress(asyncio.CancelledError, Exception):
                await self._task
        if self.client is not None and self.client.client_session is not None:
            await self.client.client_session.close()

    async def stop(self) -> None:
        await self.kill()
        if self.client is not None:
            await self.client.close()
