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

from adapters.slack.grid import GridUser, aliases, grid_user
from adapters.slack.sender import rate_limit_wait
from bot.events import UserInfo

log = logging.getLogger(__name__)

TTL_SECONDS = 3600.0
NOT_FOUND = frozenset({"user_not_found", "users_not_found", "user_not_visible"})
MAX_ENTRIES = 10_000


class UserDirectory:
    """What Slack says of a user: display name, locale (`fr-FR` chooses French) and time zone (`tz`)."""

    def __init__(self, client: AsyncWebClient, *, ttl: float = TTL_SECONDS,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.ttl = ttl
        self.monotonic = monotonic
        self._cache: dict[str, tuple[float, UserInfo]] = {}
        self._grid: dict[str, GridUser] = {}  # Enterprise Grid users seen (the cache's lifetime)
        self._grid_asked: dict[str, float] = {}  # user id -> until when not to ask users.info again for Grid
        self._pending: dict[str, asyncio.Future[UserInfo]] = {}
        self._quiet_until = 0.0  # after a 429: no users.info before this (monotonic)

    async def info(self, user_id: str, fallback_name: str = "") -> UserInfo:
        """The user's name, locale and zone; on an API failure, or while Slack asked to wait, the fallback
        name marked as a guess (not cached)."""
        cached = self._cache.get(user_id)
        if cached and cached[0] > self.monotonic():
            return cached[1]
        if self.monotonic() < self._quiet_until:  # rate limited: not one more call before Retry-After
            return UserInfo(display_name=fallback_name, guessed=True)
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
        except SlackApiError as exc:
            if exc.response.get("error") in NOT_FOUND:  # Slack says there is no such user: not cached
                return UserInfo(display_name=fallback_name, found=False, guessed=True)
            wait = rate_limit_wait(exc)
            if wait is not None:  # Tier 4 (about 100 a minute): a crowd of new people can exceed it
                self._quiet_until = self.monotonic() + wait
                log.warning("users.info is rate limited: names are the requests' own for %g s", wait)
            else:
                log.warning("users.info failed for a user: %s", exc.response.get("error"))
            return UserInfo(display_name=fallback_name, guessed=True)
        except (TimeoutError, OSError) as exc:
            log.warning("users.info failed for a user: %s", type(exc).__name__)
            return UserInfo(display_name=fallback_name, guessed=True)
        user = response.get("user") or {}
        profile = user.get("profile") or {}
        name = (profile.get("display_name") or profile.get("real_name") or user.get("real_name")
                or user.get("name") or fallback_name)
        grid = grid_user(user)
        known_as = aliases(user_id, (str(user.get("team_id") or ""), *grid.teams)) if grid else ()
        info = UserInfo(display_name=str(name)[:200], locale=user.get("locale"), also_known_as=known_as,
                        found=not user.get("deleted"), timezone=user.get("tz") or None)
        if len(self._cache) >= MAX_ENTRIES:
            self._cache.clear()
            self._grid.clear()
            self._grid_asked.clear()
        if grid:
            self._grid[user_id] = grid
        self._cache[user_id] = (self.monotonic() + self.ttl, info)
        return info

    def grid(self, user_id: str) -> GridUser | None:
        """The user's Grid organisation, as the last users.info said (None outside Grid or not fetched)."""
        return self._grid.get(user_id)

    async def grid_for(self, user_id: str, enterprise: str) -> GridUser | None:
        """The user's Grid organisation. When a request comes from an organisation (`enterprise`) and the
        cached answer predates it (the workspace joined since), users.info is asked again, once per TTL."""
        found = self._grid.get(user_id)
        if found is not None or not enterprise:
            return found
        if self._grid_asked.get(user_id, 0.0) > self.monotonic():
            return None
        self._grid_asked[user_id] = self.monotonic() + self.ttl
        self._cache.pop(user_id, None)
        await self.info(user_id)
        return self._grid.get(user_id)

    async def many(self, labels: dict[str, str], enterprise: str = "") -> dict[str, UserInfo]:
        """Info of several users (mentioned in a command), fetched together; in a Grid organisation
        (`enterprise`), with their workspaces (see `grid_for`)."""
        ids: Iterable[str] = list(labels)[:20]

        async def one(uid: str) -> UserInfo:
            if enterprise:
                await self.grid_for(uid, enterprise)
            return await self.info(uid, labels.get(uid, ""))

        results = await asyncio.gather(*(one(uid) for uid in ids))
        return dict(zip(ids, results, strict=True))
