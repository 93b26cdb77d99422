"""Showing a reply the Matrix way, under the core's answering policy (`bot/answering.py`).

Answers in place: a command typed in a room is answered in that room, as a reply in the command's thread,
whether the core meant it for everyone or for the caller, because the command itself was read by the room.
A confidential answer (`Reply.confidential`: referrals, anonymous questions, someone's own data) goes to the
person's direct room instead, which the bot creates (encrypted) on first need and keeps. A reaction in a room
(✅ on an announcement) adds nothing to the room: its answer goes to the direct room; a poll answer, which
the poll itself shows, is answered only when it failed (in the direct room). When the homeserver is
busy or down the policy hands the reply to the outbox.
"""

from __future__ import annotations

import logging
from typing import Any

from adapters.matrix.rooms import DirectRooms
from adapters.matrix.sender import MatrixSender
from bot.answering import Answering
from bot.events import Request
from bot.messages import Reply

log = logging.getLogger(__name__)
SILENT_ORIGINS = frozenset({"poll"})  # the poll shows the vote: no acknowledgement at all
ASIDE_ORIGINS = frozenset({"reaction", "poll"})  # a gesture in the room: its answer goes aside, never in the room


def relation_to(event_id: str | None, thread: str | None) -> dict[str, Any] | None:
    if event_id is None:
        return None
    relation: dict[str, Any] = {"m.in_reply_to": {"event_id": event_id}}
    if thread:
        relation = {"rel_type": "m.thread", "event_id": thread, "is_falling_back": False, **relation}
    return relation


class MatrixResponder:
    """One request's answers: in its room (`to_place`), or for its sender only (`to_actor`)."""

    def __init__(self, sender: MatrixSender, rooms: DirectRooms, answering: Answering, request: Request, *,
                 txn: str, reply_to: str | None = None, thread: str | None = None) -> None:
        self.sender = sender
        self.rooms = rooms
        self.answering = answering
        self.request = request
        self.txn = txn  # the homeserver's transaction id: a resend after a crash is one message
        self.relation = relation_to(reply_to, thread)  # a reply to the command, in its thread if it has one

    async def to_place(self, reply: Reply, locale: str) -> None:
        await self.sender.post(self.request.place.channel_id, reply.message, locale, txn_id=self.txn,
                               relates_to=self.relation, mention=self.request.actor.user_id)

    async def to_actor(self, reply: Reply, locale: str) -> None:
        if self.request.place.direct:
            await self.to_place(reply, locale)
            return
        if self.request.origin in SILENT_ORIGINS and not reply.is_error and not reply.secret:
            log.debug("Matrix: a %s needs no answer", self.request.origin)
            return
        if reply.secret or self.request.origin in ASIDE_ORIGINS:
            dm_room, _created = await self.rooms.ensure(self.request.actor.user_id)
            await self.sender.post(dm_room, reply.message, locale, txn_id=self.txn,
                                   mention=self.request.actor.user_id)
            return
        await self.to_place(reply, locale)
