"""Answering a command where it belongs: in place, in its thread, or in the person's direct room.

Public answers (and every answer in a direct room) are a reply to the command; answers for the caller
only go to their direct room, with a one-line pointer in the room the first time. If the homeserver is
busy or down, the answer goes to the outbox, which retries it durably.
"""

from __future__ import annotations

import asyncio
from typing import Any

from nio import MatrixRoom
from sqlalchemy.engine import Engine

from adapters.matrix.people import locale_of
from adapters.matrix.rooms import DirectRooms
from adapters.matrix.sender import MatrixSender
from bot.i18n import _, use_locale
from bot.messages import Message, Reply, Visibility
from bot.outbox import DeliveryError, Outbox
from bot.settings import Settings
from storage.db import session_scope


def relation_to(event_id: str, thread: str | None) -> dict[str, Any]:
    relation: dict[str, Any] = {"m.in_reply_to": {"event_id": event_id}}
    if thread:
        relation = {"rel_type": "m.thread", "event_id": thread, "is_falling_back": False, **relation}
    return relation


class Answers:
    def __init__(self, engine: Engine, settings: Settings, sender: MatrixSender, rooms: DirectRooms,
                 workspace: str, outbox: Outbox) -> None:
        self.engine = engine
        self.outbox = outbox
        self.settings = settings
        self.sender = sender
        self.rooms = rooms
        self.workspace = workspace

    async def locale_of(self, user_id: str) -> str:
        return await asyncio.to_thread(locale_of, self.engine, self.settings, user_id)

    async def respond(self, room: MatrixRoom, sender: str, to_event: str, thread: str | None, reply: Reply,
                      *, direct: bool) -> None:
        # The core built the reply in the caller's language; only the button hints are ours to translate.
        locale = await self.locale_of(sender) if reply.message.buttons() else self.settings.locale
        relation = relation_to(to_event, thread)
        txn = f"cercle-re-{to_event}"
        if reply.visibility == Visibility.PUBLIC or direct:
            await self.post_or_queue(room.room_id, "channel", room.room_id, reply.message, locale, txn, relation)
            return
        try:
            dm_room, created = await self.rooms.ensure(sender)
        except DeliveryError as exc:
            if exc.permanent:
                raise
            await asyncio.to_thread(self.queue, "dm", sender, reply.message)  # the outbox opens the room
            return
        await self.post_or_queue(dm_room, "dm", sender, reply.message, locale, txn, None)
        if created:
            who = await self.locale_of(sender)
            with use_locale(who):
                pointer = Message.text(_("{name}, I answered you in a private message.",
                                         name=room.user_name(sender) or sender))
            await self.post_or_queue(room.room_id, "channel", room.room_id, pointer, who, txn + "-ptr", relation)

    async def explain_encryption(self, room: MatrixRoom, sender: str, event_id: str) -> None:
        """The bot cannot read end-to-end encrypted rooms: say so, and open an unencrypted direct chat
        (Matrix clients often encrypt direct chats by default)."""
        if self.rooms.is_direct_with(room.room_id, sender):
            await self.rooms.forget(sender, room.room_id)
        locale = await self.locale_of(sender)
        with use_locale(locale):
            notice = Message.text(_("I cannot read encrypted messages, so I did not see this one. Write to me in "
                                    "an unencrypted room, or in the direct chat I have opened with you."))
            greeting = Message.text(_("Hello! I am Cercle. Type help here to see what I can do."))
        await self.post_or_queue(room.room_id, "channel", room.room_id, notice, locale, f"cercle-enc-{event_id}",
                                 relation_to(event_id, None))
        dm_room, created = await self.rooms.ensure(sender)
        if created:
            await self.post_or_queue(dm_room, "dm", sender, greeting, locale, f"cercle-hello-{event_id}", None)

    async def post_or_queue(self, room_id: str, kind: str, target: str, message: Message, locale: str,
                            txn: str, relation: dict[str, Any] | None) -> None:
        """Send now; if the homeserver is busy or down, the outbox retries it durably."""
        try:
            await self.sender.post(room_id, message, locale, txn_id=txn, relates_to=relation)
        except DeliveryError as exc:
            if exc.permanent:
                raise
            await asyncio.to_thread(self.queue, kind, target, message)

    def queue(self, kind: str, target: str, message: Message) -> None:
        with session_scope(self.engine) as session:
            self.outbox.enqueue(session, platform="matrix", workspace=self.workspace, target_kind=kind,
                                target_id=target, message=message, subject="matrix:reply")
