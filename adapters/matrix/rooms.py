"""One direct room per person, created encrypted with `is_direct` on first need and reused ever after."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from nio import ErrorResponse, RoomCreateResponse

from adapters.matrix.e2e.claim import DeviceTakenOver
from adapters.matrix.state import MatrixState
from adapters.matrix.transport import NETWORK_ERRORS, delivery_error
from bot.outbox import DeliveryError

log = logging.getLogger(__name__)


class DirectRooms:
    def __init__(self, client: Any, state: MatrixState) -> None:  # the leader's CryptoClient once it leads
        self.client = client
        self.state = state
        self._by_user: dict[str, str] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def load(self) -> None:
        rows = await asyncio.to_thread(self.state.values, "dm:")
        self._by_user = dict(row.split("\t", 1) for row in rows if "\t" in row)

    def room_of(self, user_id: str) -> str | None:
        return self._by_user.get(user_id)

    def is_direct_with(self, room_id: str, user_id: str) -> bool:
        """The person's direct room, and still only the two of them in it (private answers go there)."""
        return self._by_user.get(user_id) == room_id and self._private(room_id)

    def _private(self, room_id: str) -> bool:
        room = self.client.rooms.get(room_id)
        return room is None or room.member_count <= 2

    async def remember(self, user_id: str, room_id: str) -> None:
        if self._by_user.get(user_id) != room_id:
            self._by_user[user_id] = room_id
            await asyncio.to_thread(self.state.put, {f"dm:{user_id}": f"{user_id}\t{room_id}"})

    async def forget(self, user_id: str, room_id: str) -> None:
        """The room no longer works (the person left it): the next message opens a new one."""
        if self._by_user.get(user_id) == room_id:
            del self._by_user[user_id]
            await asyncio.to_thread(self.state.delete, f"dm:{user_id}")

    async def ensure(self, user_id: str) -> tuple[str, bool]:
        """The person's direct room, and whether it was just created."""
        lock = self._locks.setdefault(user_id, asyncio.Lock())
        async with lock:
            known = self._by_user.get(user_id)
            if known and self._private(known):
                return known, False
            if known:  # someone else was let into it: it is no longer a private place
                await self.forget(user_id, known)
            try:
                # Known at once with the person invited: the first message reaches them before they accept.
                response = await self.client.create_encrypted_room([user_id], direct=True)
            except NETWORK_ERRORS as exc:
                raise DeliveryError(f"homeserver unreachable: {type(exc).__name__}") from None
            except DeviceTakenOver:
                raise DeliveryError("another replica holds the bot's device now") from None
            if isinstance(response, ErrorResponse):
                raise delivery_error(response, "create direct room")
            assert isinstance(response, RoomCreateResponse)
            await self.remember(user_id, response.room_id)
            log.info("opened a direct room with a Matrix user")
            return response.room_id, True
