"""The outbox's Matrix sender: posts to rooms and to people's direct rooms, idempotently, encrypted where
the room is. A message that rings is an `m.text` with `m.mentions` (routine ones are `m.notice`, which the
default push rules keep quiet); a consultation's post is a native poll, its results end it. A live post is
updated in place by an `m.replace` edit (`update`, the edit worker's side of `bot.outbox.live`)."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from nio import AsyncClient, ErrorResponse, RedactedEvent, RoomGetEventResponse, RoomGetStateEventResponse

from adapters.matrix import polls
from adapters.matrix.platform import NAME, MatrixSettings, workspace_of
from adapters.matrix.render import EDIT_BYTES, MAX_EVENT_BYTES, fit, reaction_commands, render, replacement
from adapters.matrix.rooms import DirectRooms
from adapters.matrix.state import MatrixState
from adapters.matrix.transport import NETWORK_ERRORS, delivery_error, send_event
from bot.core import Core
from bot.events import Actor
from bot.i18n import use_locale
from bot.messages import Message, Poll, Ring
from bot.outbox import DeliveryError, Outgoing, OutgoingEdit

log = logging.getLogger(__name__)


class MatrixSender:
    platform = NAME

    def __init__(self, client: AsyncClient, core: Core, settings: MatrixSettings, state: MatrixState,
                 rooms: DirectRooms) -> None:
        self.client = client
        self.core = core
        self.settings = settings
        self.state = state
        self.rooms = rooms
        self.txn_prefix = ""  # set at login (MatrixState.transaction_prefix)
        self.synced = False  # the leader's client has synced: it knows the rooms (set by the sync loop)

    @property
    def ready(self) -> bool:
        """The delivery worker claims Matrix rows only while this is True: on the leader, once synced (the
        one process that holds the bot's device and keys sends; a follower's rows wait for the leader)."""
        return self.synced and bool(self.client.access_token and self.txn_prefix)

    async def _locale(self, target_kind: str, target_id: str) -> str:
        """A direct message is in its reader's language, a room's post in the instance's."""
        if target_kind != "dm":
            return self.core.settings.locale
        return await asyncio.to_thread(self.core.locale_of, Actor(NAME, workspace_of(target_id), target_id))

    def _require_device(self) -> None:
        """Demoted between the claim and the send: the leader sends it."""
        if not self.ready:
            raise DeliveryError("Matrix: this replica does not hold the bot's device now")

    async def send(self, item: Outgoing) -> str:
        self._require_device()
        if item.target_kind == "dm":
            room_id, _created = await self.rooms.ensure(item.target_id)
        else:
            room_id = item.target_id
        locale = await self._locale(item.target_kind, item.target_id)
        txn = f"cercle-out-{self.txn_prefix}-{item.id}"
        mention = item.target_id if item.target_kind == "dm" else None  # a direct message rings its reader
        try:
            poll = item.message.poll
            if poll is not None and item.target_kind == "channel":
                event_id = await self.poll(room_id, item.message, poll, locale, txn_id=txn)
            else:
                event_id = await self.post(room_id, item.message, locale, txn_id=txn, mention=mention)
        except DeliveryError as exc:
            if item.target_kind == "dm" and exc.permanent:
                # The person left their direct room: open a new one on the next attempt.
                await self.rooms.forget(item.target_id, room_id)
                raise DeliveryError(exc.reason) from None
            raise
        if item.message.pin:
            await self.pin(room_id, event_id)
        return event_id

    def content(self, message: Message, locale: str, mention: str | None, limit: int = MAX_EVENT_BYTES,
                ) -> dict[str, Any]:
        """Rendered in `locale`: a notice, or a text that rings (see `mentions`)."""
        with use_locale(locale):
            content = fit(render(message, self.settings.prefix).content(
                "m.notice" if message.ring == Ring.QUIET else "m.text"), limit)
        content["m.mentions"] = mentions(message.ring, mention)
        return content

    async def post(self, room_id: str, message: Message, locale: str, *, txn_id: str,
                   relates_to: dict[str, Any] | None = None, mention: str | None = None) -> str:
        """Render in `locale`, send, and remember which reaction runs which button. `mention`: the person it
        is for (the recipient, the caller)."""
        content = self.content(message, locale, mention)
        if relates_to:
            content["m.relates_to"] = relates_to
        event_id = await send_event(self.client, room_id, "m.room.message", content, txn_id)
        buttons = reaction_commands(message)
        if buttons:
            await asyncio.to_thread(self.state.remember_buttons, event_id, buttons)
        return event_id

    async def update(self, edit: OutgoingEdit) -> None:
        """Replace a live post's content in place: an `m.replace` edit of its event, rendered as `post` does,
        sent like a post (encrypted where the room is). The transaction id names the edit row and its version,
        so a retry is the same edit. A native poll is not edited (its results end it): nothing is sent."""
        self._require_device()
        if edit.message.poll is not None and edit.target_kind == "channel":
            return
        if edit.target_kind == "dm":
            room_id = self.rooms.room_of(edit.target_id)
            if room_id is None:  # the person left the room the post is in
                raise DeliveryError("edit: the direct room is gone", permanent=True)
        else:
            room_id = edit.target_id
        await self._check_editable(room_id, edit.message_id)
        locale = await self._locale(edit.target_kind, edit.target_id)
        mention = edit.target_id if edit.target_kind == "dm" else None
        new = self.content(edit.message, locale, mention, EDIT_BYTES)
        txn = f"cercle-edit-{self.txn_prefix}-{edit.original_id}-{edit.version}"
        await send_event(self.client, room_id, "m.room.message", replacement(new, edit.message_id), txn)
        buttons = reaction_commands(edit.message)  # reactions still go to the original event
        if buttons:
            await asyncio.to_thread(self.state.remember_buttons, edit.message_id, buttons)

    async def _check_editable(self, room_id: str, event_id: str) -> None:
        """An edit of a redacted or unknown event would be accepted and pointless: it is dropped instead."""
        try:
            response = await self.client.room_get_event(room_id, event_id)
        except NETWORK_ERRORS as exc:
            raise DeliveryError(f"homeserver unreachable: {type(exc).__name__}") from None
        if isinstance(response, ErrorResponse):
            raise delivery_error(response, "edit")
        if not isinstance(response, RoomGetEventResponse):
            raise DeliveryError(f"edit: unexpected answer {type(response).__name__}")
        if isinstance(response.event, RedactedEvent) or "redacted_because" in (
                response.event.source.get("unsigned") or {}):
            raise DeliveryError("edit: the post was removed", permanent=True)

    async def poll(self, room_id: str, message: Message, poll: Poll, locale: str, *, txn_id: str) -> str:
        """Start a native poll, or end one and post its results. Returns the id of the event the outbox keeps."""
        with use_locale(locale):
            fallback = render(message, self.settings.prefix).plain
        if poll.ends:
            start = await asyncio.to_thread(self.state.get, f"pollkey:{room_id}:{poll.key}")
            if start:
                await send_event(self.client, room_id, polls.END, polls.end_content(start, fallback), txn_id + "-end")
            return await self.post(room_id, message, locale, txn_id=txn_id)
        event_id = await send_event(self.client, room_id, polls.START, polls.start_content(message, poll, fallback),
                                    txn_id)
        answers = json.dumps(polls.answer_commands(message), ensure_ascii=False)
        await asyncio.to_thread(self.state.put, {f"poll:{event_id}": answers,
                                                 f"pollkey:{room_id}:{poll.key}": event_id})
        return event_id

    def poll_commands(self, event_id: str) -> dict[str, str]:
        """Answer id -> command of a poll the bot started (kept at start, or as the outbox sent it)."""
        raw = self.state.get(f"poll:{event_id}")
        if raw:
            return dict(json.loads(raw))
        message = self.core.sent_message(NAME, event_id)
        return polls.answer_commands(message) if message and message.poll else {}

    async def pin(self, room_id: str, event_id: str) -> None:
        """Add the event to the room's pinned events; a room where the bot may not pin keeps it unpinned."""
        try:
            current = await self.client.room_get_state_event(room_id, "m.room.pinned_events")
            pinned: list[str] = []
            if isinstance(current, RoomGetStateEventResponse):
                pinned = [str(e) for e in current.content.get("pinned", [])]
            if event_id in pinned:
                return
            response = await self.client.room_put_state(room_id, "m.room.pinned_events",
                                                        {"pinned": [*pinned, event_id]})
        except NETWORK_ERRORS as exc:
            log.warning("could not pin a message: %s", type(exc).__name__)
            return
        if isinstance(response, ErrorResponse):
            log.warning("could not pin a message in a room: %s", response.status_code)


def mentions(ring: Ring, person: str | None) -> dict[str, Any]:
    """`m.mentions`: always present, so clients never guess mentions from the text (legacy rules)."""
    if ring == Ring.EVERYONE:
        return {"room": True}
    return {"user_ids": [person]} if person else {}
