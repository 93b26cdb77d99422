"""The Matrix sync loop: on the leader, open the bot's encrypting client, then sync, hand each batch to
`Inbound`, do the crypto duties, save the token.

The sync token is saved only after every event of its batch was handled, so a crash re-delivers
a batch instead of losing it; the router's once-only `event_key` (the Matrix event id) makes the
re-delivery harmless. A homeserver that does not answer is retried with capped exponential backoff.
Syncing is a leader duty (`bot/supervision.py`): the leader alone holds the bot's device and its
encryption keys (`adapters/matrix/e2e/`), so it alone syncs and sends; a follower holds no client.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from contextlib import suppress
from typing import TYPE_CHECKING, Any

from nio import AsyncClient, ErrorResponse, Event, MessageDirection, RoomInfo, RoomMessagesResponse, SyncResponse

from adapters.matrix.handling import Inbound
from adapters.matrix.login import LoginFailed, display_name
from adapters.matrix.platform import MatrixSettings
from adapters.matrix.sender import MatrixSender
from adapters.matrix.state import MatrixState
from adapters.matrix.transport import NETWORK_ERRORS, retry_after
from bot.core import Core

if TYPE_CHECKING:
    from adapters.matrix.e2e.client import CryptoClient

log = logging.getLogger(__name__)

TIMELINE_LIMIT = 100  # events per room per sync; older ones after a long downtime are fetched page by page
BACKFILL_PAGES = 10
TOKEN_SAVE_INTERVAL = 30.0  # seconds: the longest a token of echo-only batches stays unsaved


class SyncFailed(Exception):
    """The homeserver answered, but not with what the loop needs (a sync error); `retry_after` when it
    asked the bot to slow down."""

    def __init__(self, reason: str, *, retry_after: float = 0.0) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class SyncLoop:
    def __init__(self, core: Core, settings: MatrixSettings, state: MatrixState, sender: MatrixSender,
                 inbound: Inbound, use: Callable[[AsyncClient | None], None], *, sync_timeout_ms: int = 30_000,
                 backoff_base: float = 1.0, backoff_cap: float = 60.0, timeline_limit: int = TIMELINE_LIMIT) -> None:
        self.core = core
        self.settings = settings
        self.state = state
        self.sender = sender
        self.inbound = inbound
        self.use = use  # gives the adapter's parts the client (or the idle one, after following)
        self.user_id = inbound.user_id
        self.client: CryptoClient | None = None
        self.sync_timeout_ms = sync_timeout_ms
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        # No filter on to_device: room keys and Olm messages travel there.
        self.sync_filter: dict[str, Any] = {"presence": {"types": []}, "account_data": {"types": []},
                                            "room": {"timeline": {"limit": timeline_limit},
                                                     "ephemeral": {"types": []}}}
        self.connected = False
        self.detail = "not started"
        self.crypto_problems: list[str] = []
        self.ready = asyncio.Event()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._primed = False  # the first sync after connecting asks for full state
        self._token: str | None = None
        self._saved_at = 0.0
        self._handling = False
        # Set while this replica may sync. Alone (tests, one process) the loop syncs from `start`; `serve()`
        # clears it first and sets it on election.
        self._leading = asyncio.Event()
        self._leading.set()

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> None:
        self._stop.clear()
        self._task = asyncio.create_task(self._run(), name="matrix-sync")

    async def stop(self) -> None:
        self._stop.set()
        task = self._task
        if task is not None:
            if not self._handling:  # waiting on the homeserver: nothing half done, cancel
                task.cancel()
            with suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(task, timeout=15)
        await self._drop()
        self.connected = False
        self.detail = "stopped"

    def lead(self) -> None:
        self._leading.set()

    async def follow(self) -> None:
        """Stop syncing and let the device go: a long-poll in flight is cancelled (nothing is half handled),
        the client is closed, the loop waits to lead again (and then builds a new client)."""
        if not self._leading.is_set():
            return
        self._leading.clear()
        task = self._task
        if task is not None and not task.done() and not self._stop.is_set():
            while self._handling and not task.done():  # a batch being handled is finished (and its token saved)
                await asyncio.sleep(0.05)
            task.cancel()
            with suppress(asyncio.CancelledError, Exception):
                await task
            self._task = asyncio.create_task(self._run(), name="matrix-sync")
        await self._drop()

    async def _wait_to_lead(self) -> None:
        """A follower holds no client (only the leader uses the bot's device) and waits for the leadership."""
        if self._leading.is_set():
            return
        self.connected, self.detail = True, "another replica syncs and sends"
        leading = asyncio.ensure_future(self._leading.wait())
        stopping = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait({leading, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            leading.cancel()
            stopping.cancel()

    async def _connect(self) -> None:
        """Log in on the stored device, take it, load its keys (the leader's encrypting client), then
        reload what the former leader saved: direct rooms, join times, the sync token."""
        from adapters.matrix.e2e.device import open_crypto_client

        client = await open_crypto_client(self.core.engine, self.settings, self.core.settings.secret_keys)
        self.client = client
        self.use(client)
        self.inbound.bot_name = await display_name(client)
        self.sender.txn_prefix = await asyncio.to_thread(self.state.transaction_prefix)
        await self.inbound.load()
        assert client.crypto_store is not None
        self._token = (await asyncio.to_thread(client.crypto_store.load_sync_token)
                       or await asyncio.to_thread(self.state.get, "sync_token"))  # a token saved before encryption
        self._primed = False
        log.info("Matrix: logged in as %s (device %s)", self.user_id, client.device_id)

    async def _drop(self) -> None:
        """Let the device go: no more syncing or sending from this process until it connects again."""
        client, self.client = self.client, None
        self.sender.synced = False
        self.ready.clear()
        if client is not None:
            self.use(None)
            with suppress(Exception):
                await client.close()

    # -- the loop ----------------------------------------------------------------------------------
    async def _run(self) -> None:
        from adapters.matrix.e2e.claim import DeviceTakenOver
        from adapters.matrix.e2e.client import CryptoSetupError
        from bot.secret_box import SecretKeyMissing, SecretUnreadable

        delay = self.backoff_base
        while not self._stop.is_set():
            try:
                await self._wait_to_lead()
                if self._stop.is_set():
                    break
                if self.client is None:
                    self.detail = "connecting"
                    await self._connect()
                await self._sync_once()
                delay = self.backoff_base
            except asyncio.CancelledError:
                raise
            except (SecretKeyMissing, SecretUnreadable) as exc:
                await self._drop()
                self._failed(f"Matrix encryption needs CERCLE_SECRET_KEY: {exc}")
                await self._pause(max(delay, 30.0))
            except DeviceTakenOver:
                await self._drop()  # another replica leads now: it holds the device
                self._failed("another replica took the bot's device")
                await self._pause(delay)
                delay = min(self.backoff_cap, delay * 2)
            except (SyncFailed, LoginFailed, CryptoSetupError, *NETWORK_ERRORS) as exc:
                if isinstance(exc, (LoginFailed, CryptoSetupError)):
                    await self._drop()
                self._failed(str(exc) or type(exc).__name__)
                await self._pause(max(delay, getattr(exc, "retry_after", 0.0)))
                delay = min(self.backoff_cap, delay * 2)
            except Exception:
                log.exception("Matrix sync loop error")
                self._failed("internal error")
                await self._pause(delay)
                delay = min(self.backoff_cap, delay * 2)

    def _failed(self, reason: str) -> None:
        if self.connected or self.detail != reason:
            log.warning("Matrix homeserver: %s; retrying with backoff", reason)
        self.connected = False
        self.detail = reason

    async def _pause(self, delay: float) -> None:
        with suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), timeout=delay * (0.8 + 0.4 * random.random()))

    async def _sync_once(self) -> None:
        client = self.client
        assert client is not None and client.crypto_store is not None
        first = self._token is None
        timeout = 0 if (first or not self._primed) else self.sync_timeout_ms
        response = await client.sync(timeout=timeout, since=self._token, full_state=not self._primed,
                                     sync_filter=self.sync_filter)
        if isinstance(response, ErrorResponse):
            if response.status_code == "M_UNKNOWN_TOKEN":
                await self._drop()  # log in again (a new client) on the next turn
            wait = retry_after(response) if response.status_code == "M_LIMIT_EXCEEDED" else 0.0
            raise SyncFailed(f"sync refused: {response.status_code}", retry_after=wait)
        assert isinstance(response, SyncResponse)
        self._handling = True
        try:
            await self._handle(response, history=first)
            if first:
                client.forget_late()  # history is not answered, even once its key arrives
            else:
                for room_id, event in client.decrypt_late():  # messages whose room key came after them
                    room = client.rooms.get(room_id)
                    if room is not None:
                        await self.inbound.on_event(room, event)
            self.crypto_problems = await client.crypto_duties()
            now = time.monotonic()
            if first or self._worth_saving(response) or now - self._saved_at > TOKEN_SAVE_INTERVAL:
                await asyncio.to_thread(client.crypto_store.save_sync_token, response.next_batch)  # fenced
                self._saved_at = now
        finally:
            self._handling = False
        self.connected = True
        self.detail = "connected" if not self.crypto_problems else "connected; " + "; ".join(self.crypto_problems)
        self._token = response.next_batch
        self._primed = True
        self.sender.synced = True
        self.ready.set()

    def _worth_saving(self, response: SyncResponse) -> bool:
        """A batch holding only the bot's own echoes needs no handling: replaying it after a crash is
        harmless, so its token is saved later (one database write less per answer)."""
        rooms = response.rooms
        # A replayed to-device Olm message cannot be decrypted twice: save at once after to-device events.
        if rooms.invite or rooms.leave or response.to_device_events:
            return True
        return any(event.sender != self.user_id for info in rooms.join.values() for event in info.timeline.events)

    async def _handle(self, response: SyncResponse, *, history: bool) -> None:
        """Invitations, then each joined room's new events in order. On the very first sync the
        timeline is history from before the bot started: it is not answered."""
        for room_id, invite in response.rooms.invite.items():
            await self.inbound.on_invite(room_id, invite)
        for room_id, info in response.rooms.join.items():
            events = list(info.timeline.events)
            await self.inbound.note_own_join(room_id, events)
            if history:
                continue
            if info.timeline.limited and self._token and info.timeline.prev_batch:
                events = await self._backfill(room_id, info, self._token) + events
            room = self.client.rooms.get(room_id) if self.client else None
            if room is None:
                continue
            for event in events:
                await self.inbound.on_event(room, event)

    async def _backfill(self, room_id: str, info: RoomInfo, since: str) -> list[Event]:
        """The events a limited timeline left out since the last handled batch (downtime)."""
        assert self.client is not None
        collected: list[Event] = []
        start: str | None = info.timeline.prev_batch
        for _page in range(BACKFILL_PAGES):
            response = await self.client.room_messages(room_id, start=start, end=since,
                                                       direction=MessageDirection.back, limit=TIMELINE_LIMIT)
            if not isinstance(response, RoomMessagesResponse) or not response.chunk:
                break
            collected.extend(response.chunk)
            if not response.end or response.end == start:
                break
            start = response.end
        else:
            log.warning("Matrix: more than %d events in a room while away; older ones are not answered",
                        BACKFILL_PAGES * TIMELINE_LIMIT)
        return list(reversed(collected))
