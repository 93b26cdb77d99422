"""A person's time zone from their Matrix profile: `m.tz` (MSC4175, stable) or `us.cloke.msc4175.tz` (what
clients set today). Read once per person and kept a while; the core keeps it on the account, and a
person's own `profile timezone` wins over it."""

from __future__ import annotations

import time
from typing import Any

from nio import ProfileGetError, ProfileGetResponse

from adapters.matrix.transport import NETWORK_ERRORS
from bot.events import UserInfo

ZONE_FIELDS = ("m.tz", "us.cloke.msc4175.tz")
KEEP_SECONDS = 600.0


class Profiles:
    def __init__(self, client: Any) -> None:
        self.client = client  # the leader's client (set by the adapter)
        self._zones: dict[str, tuple[str | None, float]] = {}

    async def zone_of(self, user_id: str) -> str | None:
        """The zone the person's profile gives, or None (none set, or the homeserver did not answer)."""
        known = self._zones.get(user_id)
        now = time.monotonic()
        if known is not None and now - known[1] < KEEP_SECONDS:
            return known[0]
        try:
            response = await self.client.get_profile(user_id)
        except NETWORK_ERRORS:
            return known[0] if known else None
        zone = zone_in(response.other_info) if isinstance(response, ProfileGetResponse) else None
        self._zones[user_id] = (zone, now)
        return zone


    async def lookup(self, user_id: str) -> UserInfo:
        """Whether the homeserver knows `user_id` (a mention of someone outside the room), with their name:
        found False on M_NOT_FOUND, None when the homeserver did not answer."""
        try:
            response = await self.client.get_profile(user_id)
        except NETWORK_ERRORS:
            return UserInfo()
        if isinstance(response, ProfileGetResponse):
            return UserInfo(display_name=response.displayname or "", found=True)
        transport = getattr(response, "transport_response", None)
        if isinstance(response, ProfileGetError) and (response.status_code == "M_NOT_FOUND"
                                                       or getattr(transport, "status", None) == 404):
            # Synapse answers 404 for a local user it does not know (M_NOT_FOUND, or M_UNKNOWN "No row found")
            return UserInfo(found=False)
        return UserInfo()


def zone_in(fields: dict[str, Any]) -> str | None:
    for name in ZONE_FIELDS:
        value = fields.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()[:64]
    return None
