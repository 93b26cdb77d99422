"""The Matrix adapter: login, the sync loop, commands, reactions and invitations.

The sync token is saved only after every event of its batch was handled, so a crash re-delivers
a batch instead of losing it; the router's once-only `event_key` (the Matrix event id) makes the
re-delivery harmless. A homeserver that does not answer is retried with capped exponential backoff.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from contextlib import suppress
from typing import Any

from nio import (
    Api,
    AsyncClient,
    ErrorResponse,
    Event,
    InviteInfo,
    InviteMemberEvent,
    JoinResponse,
    MatrixRoom,
    MegolmEvent,
    MessageDirection,
    ReactionEvent,
    RoomInfo,
    RoomLeaveResponse,
    RoomMemberEvent,
    RoomMessagesResponse,
    RoomMessageText,
    RoomResolveAliasResponse,
    SyncResponse,
)

from adapters.matrix.answers import Answers
from adapters.matrix.inbound import ALIAS, MXID, command_text, message_text, thread_root
from adapters.matrix.login import LoginFailed, login
from adapters.matrix.people import invite_allowed, locale_of
from adapters.matrix.render import normalise_reaction, reaction_commands
from adapters.matrix.rooms import DirectRooms
from adapters.matrix.sender import MatrixSender
from adapters.matrix.state import MatrixState
from adapters.matrix.transport import NETWORK_ERRORS, client_config, retry_after
from bot.app import Application
from bot.events import Actor, Place, Request, UserInfo
from bot.i18n import _, use_locale
from bot.messages import Reply
from bot.outbox import DeliveryError, Sender, sent_message
from bot.settings import matrix_workspace
from storage.db import session_scope

log = logging.getLogger(__name__)

TIMELINE_LIMIT = 100  # events per room per sync; older ones after a long downtime are fetched page by page
BACKFILL_PAGES = 10
TOKEN_SAVE_INTERVAL = 30.0  # seconds: the longest a token of echo-only batches stays unsaved


class MatrixAdapter:
    name = "matrix"

    def __init__(self, app: Application, *, sync_timeout_ms: int = 30_000, backoff_base: float = 1.0,
                 backoff_cap: float = 60.0, timeline_limit: int = TIMELINE_LIMIT) -> None:
        settings = app.settings
        assert settings.matrix_homeserver and settings.matrix_user_id
        self.app = app
        self.settings = settings
        self.user_id = settings.matrix_user_id
        self.server = matrix_workspace(self.user_id)
        self.sync_timeout_ms = sync_timeout_ms
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.sync_filter: dict[str, Any] = {"presence": {"types": []}, "account_data": {"types": []},
                                            "room": {"timeline": {"limit": timeline_limit},
                                                     "ephemeral": {"types": []}}}
        self.client = AsyncClient(settings.matrix_homeserver, self.user_id, config=client_config())
        self.state = MatrixState(app.engine, self.user_id)
        self.rooms = DirectRooms(self.client, self.state)
        self.matrix_sender = MatrixSender(self.client, app.engine, settings, self.state, self.rooms)
        self.sender: Sender = self.matrix_sender
        self.answers = Answers(app.engine, settings, self.matrix_sender, self.rooms, self.server, app.outbox)
        self.bot_name = ""
        self.connected = False
        self.detail = "not started"
        self.ready = asyncio.Event()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._logged_in = False
        self._primed = False  # the first sync after start asks for full state
        self._token: str | None = None
        self._saved_at = 0.0
        self._joined_at: dict[str, int] = {}
        self._aliases: dict[str, str] = {}
        self._handling = False
        # The sync loop is a leader duty (bot/supervision.py): set while this replica may sync. Alone (tests,
        # one process) the adapter syncs from `start`; `serve()` clears it first and sets it on election.
        self._leading = asyncio.Event()
        self._leading.set()
        self._reload = False  # after following: the token and joined rooms moved on in the database

    # -- lifecycle ---------------------------------------------------------------------------------
    async def start(self) -> None:
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
        await self.client.close()

    async def health(self) -> tuple[bool, str]:
        return self.connected, self.detail

    # -- leadership (several replicas: only the leader syncs; every replica logs in and sends) -----------
    async def start_leader_duties(self) -> None:
        self._leading.set()

    async def stop_leader_duties(self) -> None:
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

    async def _follow(self) -> None:
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
            await self.rooms.load()
            rows = await asyncio.to_thread(self.state.values, "joined:")
            self._joined_at = {room: int(ts) for room, ts in (r.split("\t", 1) for r in rows if "\t" in r)}
            self._token = await asyncio.to_thread(self.state.get, "sync_token")
            self._primed = False

    # -- login -------------------------------------------------------------------------------------
    async def _login(self) -> None:
        self.bot_name = await login(self.client, self.settings, self.state)
        self.matrix_sender.txn_prefix = await asyncio.to_thread(self.state.transaction_prefix)
        await self.rooms.load()
        rows = await asyncio.to_thread(self.state.values, "joined:")
        self._joined_at = {room: int(ts) for room, ts in (row.split("\t", 1) for row in rows if "\t" in row)}
        self._token = await asyncio.to_thread(self.state.get, "sync_token")
        self._logged_in = True
        log.info("Matrix: logged in as %s (device %s)", self.user_id, self.client.device_id)

    # -- the sync loop -----------------------------------------------------------------------------
    async def _run(self) -> None:
        delay = self.backoff_base
        while not self._stop.is_set():
            try:
                if not self._logged_in:
                    await self._login()
                await self._follow()
                if self._stop.is_set():
                    break
                await self._sync_once()
                delay = self.backoff_base
            except asyncio.CancelledError:
                raise
            except (_SyncFailed, LoginFailed, *NETWORK_ERRORS) as exc:
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
            raise _SyncFailed(f"sync refused: {response.status_code}", retry_after=wait)
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
            await self._on_invite(room_id, invite)
        for room_id, info in response.rooms.join.items():
            events = list(info.timeline.events)
            await self._note_own_join(room_id, events)
            if history:
                continue
            if info.timeline.limited and self._token and info.timeline.prev_batch:
                events = await self._backfill(room_id, info, self._token) + events
            room = self.client.rooms.get(room_id)
            if room is None:
                continue
            for event in events:
                await self._on_event(room, event)

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

    async def _note_own_join(self, room_id: str, events: list[Event]) -> None:
        """Remember when the bot joined, so what was said before is never answered."""
        for event in events:
            if (isinstance(event, RoomMemberEvent) and event.state_key == self.user_id
                    and event.membership == "join" and event.prev_membership != "join"):
                await self._joined(room_id, event.server_timestamp)

    async def _joined(self, room_id: str, ts: int) -> None:
        self._joined_at[room_id] = ts
        await asyncio.to_thread(self.state.put, {f"joined:{room_id}": f"{room_id}\t{ts}"})

    async def _on_event(self, room: MatrixRoom, event: Event) -> None:
        if event.sender == self.user_id or event.server_timestamp < self._joined_at.get(room.room_id, 0):
            return
        try:
            if isinstance(event, RoomMessageText):
                await self._on_message(room, event)
            elif isinstance(event, ReactionEvent):
                await self._on_reaction(room, event)
            elif isinstance(event, MegolmEvent):
                await self._on_encrypted(room, event)
            elif isinstance(event, RoomMemberEvent) and event.membership in ("leave", "ban"):
                await self._on_departure(room, event.state_key)
        except NETWORK_ERRORS:
            raise  # the homeserver went away mid-batch: the batch is synced again, handled events skipped
        except DeliveryError as exc:
            log.warning("Matrix: could not answer an event: %s", exc.reason)
        except Exception:
            # One bad event must not block the sync forever; it is logged (without its content) and skipped.
            log.exception("Matrix: event %s could not be handled", event.event_id)

    # -- invitations -------------------------------------------------------------------------------
    async def _on_invite(self, room_id: str, invite: InviteInfo) -> None:
        inviter, direct = None, False
        for event in invite.invite_state:
            if (isinstance(event, InviteMemberEvent) and event.state_key == self.user_id
                    and event.membership == "invite"):
                inviter, direct = event.sender, bool(event.content.get("is_direct"))
        if inviter is None:
            return
        allowed = await asyncio.to_thread(invite_allowed, self.app.engine, self.settings, inviter, self.server)
        if not allowed:
            with use_locale(self.settings.locale):
                reason = _("Cercle joins rooms only when invited by an administrator or by someone from an "
                           "allowed server.")
            await self._leave(room_id, reason)
            log.info("Matrix: declined an invitation from %s", matrix_workspace(inviter))
            return
        before = int(time.time() * 1000)  # refined by the join event's own timestamp in the next sync
        response = await self.client.join(room_id)
        if isinstance(response, JoinResponse):
            await self._joined(room_id, before)
            if direct:
                await self.rooms.remember(inviter, room_id)
        else:
            log.warning("Matrix: could not join a room: %s", getattr(response, "status_code", "?"))

    async def _leave(self, room_id: str, reason: str) -> None:
        method, path = Api.room_leave(self.client.access_token, room_id)
        await self.client._send(RoomLeaveResponse, method, path, json.dumps({"reason": reason}))

    # -- commands ------------------------------------------------------------------------------------
    def _is_direct(self, room: MatrixRoom, sender: str) -> bool:
        return self.rooms.is_direct_with(room.room_id, sender)

    def _actor(self, room: MatrixRoom, sender: str) -> Actor:
        return Actor("matrix", matrix_workspace(sender), sender, room.user_name(sender) or sender)

    def _place(self, room: MatrixRoom, sender: str, thread: str | None) -> Place:
        return Place("matrix", self.server, room.room_id, name=room.display_name,
                     direct=self._is_direct(room, sender), thread=thread)

    async def _on_message(self, room: MatrixRoom, event: RoomMessageText) -> None:
        content: dict[str, Any] = event.source.get("content", {})
        direct = self._is_direct(room, event.sender)
        text = command_text(message_text(content), prefix=self.settings.matrix_prefix, bot_id=self.user_id,
                            bot_name=self.bot_name, direct=direct)
        if text is None:
            return
        thread = thread_root(content)
        text, channels, unknown = await self._resolve_aliases(text)
        if unknown:
            locale = await asyncio.to_thread(locale_of, self.app.engine, self.settings, event.sender)
            with use_locale(locale):
                reply = Reply.error(_("There is no room {alias} on Matrix. Check the address, or use the "
                                      "room's id (!…:server).", alias=unknown))
            await self.answers.respond(room, event.sender, event.event_id, thread, reply,
                                       direct=self._is_direct(room, event.sender))
            return
        users = {m: UserInfo(room.user_name(m) or "") for m in set(MXID.findall(text))}
        request = Request(actor=self._actor(room, event.sender), place=self._place(room, event.sender, thread),
                          text=text, event_key=event.event_id, users=users, channels=channels)
        result = await asyncio.to_thread(self.app.router.handle, request)
        if result is not None:
            await self.answers.respond(room, event.sender, event.event_id, thread, result,
                                       direct=self._is_direct(room, event.sender))

    async def _resolve_aliases(self, text: str) -> tuple[str, dict[str, str], str | None]:
        """`#alias:server` → the room id, with the alias as the channel's name."""
        channels: dict[str, str] = {}
        for alias in dict.fromkeys(ALIAS.findall(text)):
            room_id = self._aliases.get(alias)
            if room_id is None:
                response = await self.client.room_resolve_alias(alias)
                if not isinstance(response, RoomResolveAliasResponse):
                    return text, {}, alias
                room_id = self._aliases[alias] = response.room_id
            channels[room_id] = alias
            text = text.replace(alias, room_id)
        return text, channels, None

    async def _on_reaction(self, room: MatrixRoom, event: ReactionEvent) -> None:
        buttons = await asyncio.to_thread(self._buttons_of, event.reacts_to)
        command = buttons.get(normalise_reaction(event.key))
        if not command:
            return
        request = Request(actor=self._actor(room, event.sender), place=self._place(room, event.sender, None),
                          text=command, event_key=event.event_id, via_button=True)
        result = await asyncio.to_thread(self.app.router.handle, request)
        if result is not None:
            await self.answers.respond(room, event.sender, event.reacts_to, None, result,
                                       direct=self._is_direct(room, event.sender))

    async def _on_departure(self, room: MatrixRoom, user_id: str) -> None:
        """A person left their direct room with the bot: the bot leaves too, and opens a new one when needed."""
        if self.rooms.is_direct_with(room.room_id, user_id):
            await self.rooms.forget(user_id, room.room_id)
            await self.client.room_leave(room.room_id)

    async def _on_encrypted(self, room: MatrixRoom, event: MegolmEvent) -> None:
        """Explained once per room."""
        key = f"encrypted:{room.room_id}"
        if await asyncio.to_thread(self.state.get, key):
            return
        await asyncio.to_thread(self.state.put, {key: "1"})
        await self.answers.explain_encryption(room, event.sender, event.event_id)

    def _buttons_of(self, event_id: str) -> dict[str, str]:
        """Which reaction runs which command on a message the bot sent (remembered, or its outbox row)."""
        known = self.state.buttons(event_id)
        if known:
            return known
        with session_scope(self.app.engine) as session:
            message = sent_message(session, "matrix", event_id)
            return reaction_commands(message) if message else {}


class _SyncFailed(Exception):
    """The homeserver answered, but not with what the loop needs (a sync error); `retry_after` when it
    asked the bot to slow down."""

    def __init__(self, reason: str, *, retry_after: float = 0.0) -> None:
        super().__init__(reason)
        self.retry_after = retry_after
