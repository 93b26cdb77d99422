"""Display names and languages of Slack users: `users.info` once, then a cache with a time to live.

The router stores name and language on the account row too, so a restart only costs one
`users.info` per person seen again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.events import UserInfo

log = logging.getLogger(__name__)

TTL_SECONDS = 3600.0
MAX_ENTRIES = 10_000


class UserDirectory:
    """What Slack says of a user: display name, locale (`fr-FR` chooses French) and time zone (`tz`)."""

    def __init__(self, client: AsyncWebClient, *, ttl: float = TTL_SECONDS,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.ttl = ttl
        self.monotonic = monotonic
        self._cache: dict[str, tuple[float, UserInfo]] = {}
        self._pending: dict[str, asyncio.Future[UserInfo]] = {}

    async def info(self, user_id: str, fallback_name: str = "") -> UserInfo:
        """The user's name, locale and zone; on an API failure, the fallback name (not cached)."""
        cached = self._cache.get(user_id)
        if cached and cached[0] > self.monotonic():
            return cached[1]
        pending = self._pending.get(user_id)
        if pending is not None:  # one users.info per user even when requests arrive together
            return await asyncio.shield(pending)
        future: asyncio.Future[UserInfo] = asyncio.get_running_loop().create_future()
        self._pending[user_id] = future
        try:
            info = await self._fetch(user_id, fallback_name)
            future.set_result(info)
            return info
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: nobody else may be waiting
            raise
        finally:
            del self._pending[user_id]

    async def _fetch(self, user_id: str, fallback_name: str) -> UserInfo:
        try:
            response = await self.client.users_info(user=user_id, include_locale=True)
        except (TimeoutError, SlackApiError, OSError) as exc:
            log.warning("users.info failed for a user: %s", type(exc).__name__)
            return UserInfo(display_name=fallback_name)
        user = response.get("user") or {}
        profile = user.get("profile") or {}
        name = (profile.get("display_name") or profile.get("real_name") or user.get("real_name")
                or user.get("name") or fallback_name)
        info = UserInfo(display_name=str(name)[:200], locale=user.get("locale"), timezone=user.get("tz") or None)
        if len(self._cache) >= MAX_ENTRIES:
            self._cache.clear()
        self._cache[user_id] = (self.monotonic() + self.ttl, info)
        return info

    async def many(self, labels: dict[str, str]) -> dict[str, UserInfo]:
        """Info of several users (mentioned in a command), fetched together."""
        ids: Iterable[str] = list(labels)[:20]
        results = await asyncio.gather(*(self.info(uid, labels.get(uid, "")) for uid in ids))
        return dict(zip(ids, results, strict=True))
