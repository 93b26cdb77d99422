"""What the bot does with the events of a sync: invitations, commands, reactions, departures.

Commands and reactions become core `Request`s answered under the core's answering policy; what was
said in a room before the bot joined it is never answered (join times are kept in `MatrixState`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

from nio import (
    Api,
    AsyncClient,
    Event,
    InviteInfo,
    InviteMemberEvent,
    JoinResponse,
    MatrixRoom,
    MegolmEvent,
    ReactionEvent,
    RoomLeaveResponse,
    RoomMemberEvent,
    RoomMessageText,
    RoomResolveAliasResponse,
    UnknownEvent,
)

from adapters.matrix import polls
from adapters.matrix.answers import MatrixResponder
from adapters.matrix.inbound import ALIAS, MXID, command_text, message_text, thread_root
from adapters.matrix.people import invite_allowed
from adapters.matrix.platform import NAME, MatrixSettings, workspace_of
from adapters.matrix.profiles import Profiles
from adapters.matrix.render import normalise_reaction, reaction_commands
from adapters.matrix.rooms import DirectRooms
from adapters.matrix.sender import MatrixSender
from adapters.matrix.state import MatrixState
from adapters.matrix.transport import NETWORK_ERRORS
from bot.core import Core
from bot.events import Actor, Place, Request, UserInfo
from bot.i18n import _, use_locale
from bot.messages import Reply
from bot.outbox import DeliveryError

log = logging.getLogger(__name__)


class Inbound:
    def __init__(self, core: Core, settings: MatrixSettings, client: AsyncClient, state: MatrixState,
                 rooms: DirectRooms, sender: MatrixSender, user_id: str) -> None:
        self.core = core
        self.settings = settings
        self.client = client
        self.state = state
        self.rooms = rooms
        self.sender = sender
        self.user_id = user_id
        self.server = workspace_of(user_id)
        self.bot_name = ""  # set at login: a message starting with it is for the bot
        self.joined_at: dict[str, int] = {}
        self._aliases: dict[str, str] = {}
        self.profiles = Profiles(client)

    # -- room state ----------------------------------------------------------------------------------
    async def load(self) -> None:
        """The direct rooms and join times saved by this replica or another (after a restart, a new leader)."""
        await self.rooms.load()
        rows = await asyncio.to_thread(self.state.values, "joined:")
        self.joined_at = {room: int(ts) for room, ts in (row.split("\t", 1) for row in rows if "\t" in row)}

    async def note_own_join(self, room_id: str, events: list[Event]) -> None:
        """Remember when the bot joined, so what was said before is never answered."""
        for event in events:
            if (isinstance(event, RoomMemberEvent) and event.state_key == self.user_id
                    and event.membership == "join" and event.prev_membership != "join"):
                await self._joined(room_id, event.server_timestamp)

    async def _joined(self, room_id: str, ts: int) -> None:
        self.joined_at[room_id] = ts
        await asyncio.to_thread(self.state.put, {f"joined:{room_id}": f"{room_id}\t{ts}"})

    # -- events ------------------------------------------------------------------------------------
    async def on_event(self, room: MatrixRoom, event: Event) -> None:
        if event.sender == self.user_id or event.server_timestamp < self.joined_at.get(room.room_id, 0):
            return
        try:
            if isinstance(event, RoomMessageText):
                await self.on_message(room, event)
            elif isinstance(event, ReactionEvent):
                await self.on_reaction(room, event)
            elif isinstance(event, MegolmEvent):
                await self.on_encrypted(room, event)
            elif isinstance(event, UnknownEvent) and event.type in polls.RESPONSES:
                await self.on_poll_response(room, event)
            elif isinstance(event, RoomMemberEvent) and event.membership in ("leave", "ban"):
                await self.on_departure(room, event.state_key)
        except NETWORK_ERRORS:
            raise  # the homeserver went away mid-batch: the batch is synced again, handled events skipped
        except DeliveryError as exc:
            log.warning("Matrix: could not answer an event: %s", exc.reason)
        except Exception:
            # One bad event must not block the sync forever; it is logged (without its content) and skipped.
            log.exception("Matrix: event %s could not be handled", event.event_id)

    async def on_invite(self, room_id: str, invite: InviteInfo) -> None:
        inviter, direct = None, False
        for event in invite.invite_state:
            if (isinstance(event, InviteMemberEvent) and event.state_key == self.user_id
                    and event.membership == "invite"):
                inviter, direct = event.sender, bool(event.content.get("is_direct"))
        if inviter is None:
            return
        allowed = await asyncio.to_thread(invite_allowed, self.core, self.settings, inviter, self.server)
        if not allowed:
            with use_locale(self.core.settings.locale):
                reason = _("Cercle joins rooms only when invited by an administrator or by someone from an "
                           "allowed server.")
            method, path = Api.room_leave(self.client.access_token, room_id)
            await self.client._send(RoomLeaveResponse, method, path, json.dumps({"reason": reason}))
            log.info("Matrix: declined an invitation from %s", workspace_of(inviter))
            return
        before = int(time.time() * 1000)  # refined by the join event's own timestamp in the next sync
        response = await self.client.join(room_id)
        if isinstance(response, JoinResponse):
            await self._joined(room_id, before)
            if direct:
                await self.rooms.remember(inviter, room_id)
        else:
            log.warning("Matrix: could not join a room: %s", getattr(response, "status_code", "?"))

    async def request(self, room: MatrixRoom, sender: str, text: str, *, event_key: str | None, origin: str,
                      thread: str | None = None, **extra: Any) -> Request:
        """A core request from `sender` in `room` (direct: the person's own room with the bot), with the
        time zone their profile gives."""
        self.profiles.client = self.client
        zone = await self.profiles.zone_of(sender)
        actor = Actor(NAME, workspace_of(sender), sender, room.user_name(sender) or sender, timezone=zone)
        place = Place(NAME, self.server, room.room_id, name=room.display_name,
                      direct=self.rooms.is_direct_with(room.room_id, sender), thread=thread)
        return Request(actor=actor, place=place, text=text, event_key=event_key, origin=origin, **extra)

    def responder(self, room: MatrixRoom, request: Request, *, txn: str, reply_to: str | None,
                  thread: str | None = None) -> MatrixResponder:
        return MatrixResponder(self.sender, self.rooms, self.core.answering, request, txn=txn, reply_to=reply_to,
                               thread=thread)

    async def on_message(self, room: MatrixRoom, event: RoomMessageText) -> None:
        content: dict[str, Any] = event.source.get("content", {})
        direct = self.rooms.is_direct_with(room.room_id, event.sender)
        text = command_text(message_text(content), prefix=self.settings.prefix, bot_id=self.user_id,
                            bot_name=self.bot_name, direct=direct)
        if text is None:
            return
        thread = thread_root(content)
        text, channels, unknown = await self.resolve_aliases(text)
        users = await self.mentioned(room, text)
        request = await self.request(room, event.sender, text, event_key=event.event_id, origin="message",
                                     thread=thread, users=users, channels=channels)
        responder = self.responder(room, request, txn=f"cercle-re-{event.event_id}", reply_to=event.event_id,
                                   thread=thread)
        if unknown is None:
            await self.core.answering.answer(request, responder)
            return
        locale = await asyncio.to_thread(self.core.locale_of, request.actor)
        with use_locale(locale):
            refused = Reply.error(_("There is no room {alias} on Matrix. Check the address, or use the room's id "
                                    "(!…:server).", alias=unknown))
        await self.core.answering.show(request, refused, responder, locale)

    async def mentioned(self, room: MatrixRoom, text: str) -> dict[str, UserInfo]:
        """Every user mentioned: a room member as the room names them, anyone else as their profile says (or
        not found): the core creates a person only for a user the homeserver confirmed."""
        self.profiles.client = self.client
        users: dict[str, UserInfo] = {}
        for mxid in list(dict.fromkeys(MXID.findall(text)))[:20]:
            name = room.user_name(mxid) if mxid in room.users else None
            users[mxid] = UserInfo(name or "", found=True) if mxid in room.users else await self.profiles.lookup(mxid)
        return users

    async def resolve_aliases(self, text: str) -> tuple[str, dict[str, str], str | None]:
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

    async def on_reaction(self, room: MatrixRoom, event: ReactionEvent) -> None:
        buttons = await asyncio.to_thread(self.buttons_of, event.reacts_to)
        command = buttons.get(normalise_reaction(event.key))
        if not command:
            return
        request = await self.request(room, event.sender, command, event_key=event.event_id, origin="reaction")
        await self.core.answering.answer(request, self.responder(room, request, txn=f"cercle-re-{event.reacts_to}",
                                                                 reply_to=event.reacts_to))

    async def on_poll_response(self, room: MatrixRoom, event: UnknownEvent) -> None:
        """A poll answer runs its command as the person who answered (a vote; a new answer changes it)."""
        parsed = polls.response(event.type, event.source.get("content") or {})
        if parsed is None or len(parsed[1]) != 1:
            return  # an answer taken back (no selection) leaves the vote as it was
        start, (answer,) = parsed
        command = (await asyncio.to_thread(self.sender.poll_commands, start)).get(answer)
        if not command:
            return
        request = await self.request(room, event.sender, command, event_key=event.event_id, origin="poll")
        await self.core.answering.answer(request, self.responder(room, request, txn=f"cercle-re-{event.event_id}",
                                                                 reply_to=start))

    def buttons_of(self, event_id: str) -> dict[str, str]:
        """Which reaction runs which command on a message the bot sent (remembered, or as the outbox sent it)."""
        known = self.state.buttons(event_id)
        if known:
            return known
        message = self.core.sent_message(NAME, event_id)
        return reaction_commands(message) if message else {}

    async def on_departure(self, room: MatrixRoom, user_id: str) -> None:
        """A person left their direct room with the bot: the bot leaves too, and opens a new one when needed."""
        if self.rooms.is_direct_with(room.room_id, user_id):
            await self.rooms.forget(user_id, room.room_id)
            await self.client.room_leave(room.room_id)

    async def on_encrypted(self, room: MatrixRoom, event: MegolmEvent) -> None:
        """A message the bot cannot decrypt yet: its room key may still come (the client keeps it and
        `decrypt_late` hands it back); nothing is said in the room."""
        log.info("Matrix: a message waits for its room key (session %s)", event.session_id[:8])
