"""Pacing: per platform, at most one message per `RateLimit.per_target` seconds to one channel or
person, and `RateLimit.per_second` in a workspace; a 429 pauses the whole workspace for its
Retry-After. The limits come from the caller (each platform declares its own)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping

from bot.outbox.contract import Outgoing, RateLimit


class Pacer:
    """Spaces sends per target and per workspace; a 429 pauses a workspace (monotonic time)."""

    def __init__(self, limits: Mapping[str, RateLimit]) -> None:
        self.limits = dict(limits)
        self._target_next: dict[tuple[str, str, str, str], float] = {}
        self._workspace_next: dict[tuple[str, str], float] = {}
        self._paused: dict[tuple[str, str], float] = {}

    def pause(self, platform: str, workspace: str, seconds: float) -> None:
        key = (platform, workspace)
        self._paused[key] = max(self._paused.get(key, 0.0), time.monotonic() + seconds)

    async def acquire(self, item: Outgoing, deadline: float) -> bool:
        """Reserve this item's turn and wait for it; False (nothing reserved) if the turn would come after
        `deadline` (monotonic). One reservation per item: no polling, however many items wait."""
        limit = self.limits.get(item.platform, RateLimit())
        wkey = (item.platform, item.workspace)
        tkey = (item.platform, item.workspace, item.target_kind, item.target_id)
        now = time.monotonic()
        turn = max(now, self._paused.get(wkey, 0.0), self._target_next.get(tkey, 0.0),
                   self._workspace_next.get(wkey, 0.0))
        if turn > deadline:
            return False
        if limit.per_target > 0:
            self._target_next[tkey] = turn + limit.per_target
        if limit.per_second > 0:
            self._workspace_next[wkey] = turn + 1 / limit.per_second
        if turn > now:
            await asyncio.sleep(turn - now)
        paused = self._paused.get(wkey, 0.0) - time.monotonic()  # a 429 arrived while this one waited
        if paused > 0:
            if time.monotonic() + paused > deadline:
                return False
            await asyncio.sleep(paused)
        return True
