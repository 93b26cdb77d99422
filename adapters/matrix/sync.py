"""The Matrix sync loop: log in once, then sync, hand each batch to `Inbound`, save the token.

The sync token is saved only after every event of its batch was handled, so a crash re-delivers
a batch instead of losing it; the router's once-only `event_key` (the Matrix event id) makes the
re-delivery harmless. A homeserver that does not answer is retried with capped exponential backoff.
Syncing is a leader duty (`bot/supervision.py`): a follower stays logged in (it sends) and waits.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from contextlib import suppress
from typing import Any

from nio import AsyncClient, ErrorResponse, Event, MessageDirection, RoomInfo, RoomMessagesResponse, SyncResponse

from adapters.matrix.handling import Inbound
from adapters.matrix.login import LoginFailed, login
from adapters.matrix.platform import MatrixSettings
from adapters.matrix.sender import MatrixSender
from adapters.matrix.state import MatrixState
from adapters.matrix.transport import NETWORK_ERRORS, retry_after

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
    def __init__(self, client: AsyncClient, settings: MatrixSettings, state: MatrixState, sender: MatrixSender,
                 inbound: Inbound, *, sync_timeout_ms: int = 30_000, backoff_base: float = 1.0,
                 backoff_cap: float = 60.0, timeline_limit: int = TIMELINE_LIMIT) -> None:
        self.client = client
        self.settings = settings
        self.state = state
        self.sender = sender
        self.inbound = inbound
        self.user_id = inbound.user_id
        self.sync_timeout_ms = sync_timeout_ms
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.sync_filter: dict[str, Any] = {"presence": {"types": []}, "account_data": {"types": []},
                                            "room": {"timeline": {"limit": timeline_limit},
                                                     "ephemeral": {"types": []}}}
        self.connected = False
        self.detail = "not started"
        self.ready = asyncio.Event()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._logged_in = False
        self._primed = False  # the first sync after start asks for full state
        self._token: str | None = None
        self._saved_at = 0.0
        self._handling = False
        # Set while this replica may sync. Alone (tests, one process) the loop syncs from `start`; `serve()`
        # clears it first and sets it on election.
        self._leading = asyncio.Event()
        self._leading.set()
        self._reload = False  # after following: the token and joined rooms moved on in the database

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
        self.connected = False
        self.detail = "stopped"

    def lead(self) -> None:
        self._leading.set()

    async def follow(self) -> None:
        """Stop syncing: a long-poll in flight is cancelled (nothing is half handled), the loop then waits."""
        if not self._leading.is_set():
            return
        self._leading.clear()
        self._reload = True
        task = self._task
        if task is not None and not task.done() and not self._handling and not self._stop.is_set():
            task.cancel()
            with suppress(asyncio.CancelledError, Exception):
                await task
            self._task = asyncio.create_task(self._run(), name="matrix-sync")

    async def _wait_to_lead(self) -> None:
        """A follower stays logged in (it sends) and waits for the leadership before syncing."""
        if self._leading.is_set():
            return
        self.connected, self.detail = True, "logged in; another replica syncs"
        leading = asyncio.ensure_future(self._leading.wait())
        stopping = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait({leading, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            leading.cancel()
            stopping.cancel()
        if self._reload and self._leading.is_set():  # the former leader moved the token on, joined rooms
            self._reload = False
            await self.inbound.load()
            self._token = await asyncio.to_thread(self.state.get, "sync_token")
            self._primed = False

    async def _login(self) -> None:
        self.inbound.bot_name = await login(self.client, self.settings, self.state)
        self.sender.txn_prefix = await asyncio.to_thread(self.state.transaction_prefix)
        await self.inbound.load()
        self._token = await asyncio.to_thread(self.state.get, "sync_token")
        self._logged_in = True
        log.info("Matrix: logged in as %s (device %s)", self.user_id, self.client.device_id)

    # -- the loop ----------------------------------------------------------------------------------
    async def _run(self) -> None:
        delay = self.backoff_base
        while not self._stop.is_set():
            try:
                if not self._logged_in:
                    await self._login()
                await self._wait_to_lead()
                if self._stop.is_set():
                    break
                await self._sync_once()
                delay = self.backoff_base
            except asyncio.CancelledError:
                raise
            except (SyncFailed, LoginFailed, *NETWORK_ERRORS) as exc:
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
        first = self._token is None
        timeout = 0 if (first or not self._primed) else self.sync_timeout_ms
        response = await self.client.sync(timeout=timeout, since=self._token, full_state=not self._primed,
                                          sync_filter=self.sync_filter)
        if isinstance(response, ErrorResponse):
            if response.status_code == "M_UNKNOWN_TOKEN":
                self._logged_in = False
            wait = retry_after(response) if response.status_code == "M_LIMIT_EXCEEDED" else 0.0
            raise SyncFailed(f"sync refused: {response.status_code}", retry_after=wait)
        assert isinstance(response, SyncResponse)
        self.connected, self.detail = True, "connected"
        self._handling = True
        try:
            await self._handle(response, history=first)
            now = time.monotonic()
            if first or self._worth_saving(response) or now - self._saved_at > TOKEN_SAVE_INTERVAL:
                await asyncio.to_thread(self.state.put, {"sync_token": response.next_batch})
                self._saved_at = now
        finally:
            self._handling = False
        self._token = response.next_batch
        self._primed = True
        self.ready.set()

    def _worth_saving(self, response: SyncResponse) -> bool:
        """A batch holding only the bot's own echoes needs no handling: replaying it after a crash is
        harmless, so its token is saved later (one database write less per answer)."""
        rooms = response.rooms
        if rooms.invite or rooms.leave:
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
            room = self.client.rooms.get(room_id)
            if room is None:
                continue
            for event in events:
                await self.inbound.on_event(room, event)

    async def _backfill(self, room_id: str, info: RoomInfo, since: str) -> list[Event]:
        """The events a limited timeline left out since the last handled batch (downtime)."""
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
