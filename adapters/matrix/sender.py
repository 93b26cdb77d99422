"""The outbox's Matrix sender: posts to rooms and to people's direct rooms, idempotently."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from nio import AsyncClient, ErrorResponse, RoomGetStateEventResponse

from adapters.matrix.platform import NAME, MatrixSettings, workspace_of
from adapters.matrix.render import fit, reaction_commands, render
from adapters.matrix.rooms import DirectRooms
from adapters.matrix.state import MatrixState
from adapters.matrix.transport import NETWORK_ERRORS, send_event
from bot.core import Core
from bot.events import Actor
from bot.i18n import use_locale
from bot.messages import Message
from bot.outbox import DeliveryError, Outgoing

log = logging.getLogger(__name__)
NOT_READY_RETRY = 5.0  # seconds: the adapter logs in right after start


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

    async def send(self, item: Outgoing) -> str:
        if not self.client.access_token or not self.txn_prefix:
            raise DeliveryError("Matrix: not logged in yet", retry_after=NOT_READY_RETRY)
        if item.target_kind == "dm":
            room_id, _created = await self.rooms.ensure(item.target_id)
            person = Actor(NAME, workspace_of(item.target_id), item.target_id)
            locale = await asyncio.to_thread(self.core.locale_of, person)
        else:
            room_id, locale = item.target_id, self.core.settings.locale
        try:
            event_id = await self.post(room_id, item.message, locale, txn_id=f"cercle-out-{self.txn_prefix}-{item.id}")
        except DeliveryError as exc:
            if item.target_kind == "dm" and exc.permanent:
                # The person left their direct room: open a new one on the next attempt.
                await self.rooms.forget(item.target_id, room_id)
                raise DeliveryError(exc.reason) from None
            raise
        if item.message.pin:
            await self.pin(room_id, event_id)
        return event_id

    async def post(self, room_id: str, message: Message, locale: str, *, txn_id: str,
                   relates_to: dict[str, Any] | None = None) -> str:
        """Render in `locale`, send as a notice, and remember which reaction runs which button."""
        with use_locale(locale):
            content = fit(render(message, self.settings.prefix).content())
        if relates_to:
            content["m.relates_to"] = relates_to
        event_id = await send_event(self.client, room_id, "m.room.message", content, txn_id)
        buttons = reaction_commands(message)
        if buttons:
            await asyncio.to_thread(self.state.remember_buttons, event_id, buttons)
        return event_id

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
