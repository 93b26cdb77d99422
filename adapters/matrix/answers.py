"""Showing a reply the Matrix way, under the core's answering policy (`bot/answering.py`).

Public answers (and every answer in a direct room) are a reply to the command, in its thread; answers
for the caller only go to their direct room, with a one-line pointer in the room the first time. When
the homeserver is busy or down the policy hands the reply to the outbox, which retries it durably.
"""

from __future__ import annotations

import asyncio
from typing import Any

from adapters.matrix.rooms import DirectRooms
from adapters.matrix.sender import MatrixSender
from bot.answering import Answering
from bot.events import Request
from bot.i18n import _, use_locale
from bot.messages import Message, Reply
from bot.outbox import DeliveryError


def relation_to(event_id: str | None, thread: str | None) -> dict[str, Any] | None:
    if event_id is None:
        return None
    relation: dict[str, Any] = {"m.in_reply_to": {"event_id": event_id}}
    if thread:
        relation = {"rel_type": "m.thread", "event_id": thread, "is_falling_back": False, **relation}
    return relation


class MatrixResponder:
    """One request's answers: in its room (`to_place`), or privately to its sender (`to_actor`)."""

    def __init__(self, sender: MatrixSender, rooms: DirectRooms, answering: Answering, request: Request, *,
                 txn: str, reply_to: str | None = None, thread: str | None = None, name: str = "") -> None:
        self.sender = sender
        self.rooms = rooms
        self.answering = answering
        self.request = request
        self.txn = txn  # the homeserver's transaction id: a resend after a crash is one message
        self.relation = relation_to(reply_to, thread)
        self.name = name or request.actor.user_id  # how the room calls the sender, for the pointer

    async def to_place(self, reply: Reply, locale: str) -> None:
        await self.sender.post(self.request.place.channel_id, reply.message, locale, txn_id=self.txn,
                               relates_to=self.relation)

    async def to_actor(self, reply: Reply, locale: str) -> None:
        if self.request.place.direct:
            await self.to_place(reply, locale)
            return
        user_id = self.request.actor.user_id
        dm_room, created = await self.rooms.ensure(user_id)
        await self.sender.post(dm_room, reply.message, locale, txn_id=self.txn)
        if created:
            await self._point(locale)

    async def _point(self, locale: str) -> None:
        """Say in the room, the first time, where the private answer went."""
        with use_locale(locale):
            pointer = Message.text(_("{name}, I answered you in a private message.", name=self.name))
        try:
            await self.sender.post(self.request.place.channel_id, pointer, locale, txn_id=self.txn + "-ptr",
                                   relates_to=self.relation)
        except DeliveryError as exc:
            if not exc.permanent:
                await asyncio.to_thread(self.answering.queue, self.request, pointer, to_place=True)


def encryption_notice() -> tuple[Reply, Reply]:
    """What the bot says about an encrypted message it cannot read: in the room, and in the unencrypted
    direct chat it opens (in the current language)."""
    notice = Reply.public(_("I cannot read encrypted messages, so I did not see this one. Write to me in an "
                            "unencrypted room, or in the direct chat I have opened with you."))
    greeting = Reply.private(_("Hello! I am Cercle. Type help here to see what I can do."))
    return notice, greeting
