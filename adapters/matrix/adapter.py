"""The Matrix adapter: one bot account on a homeserver, put together from its parts.

`SyncLoop` (sync.py) logs in and syncs; `Inbound` (handling.py) turns invitations, commands and
reactions into core requests, answered through `MatrixResponder` (answers.py); `MatrixSender`
(sender.py) delivers the outbox; `DirectRooms` and `MatrixState` keep what survives a restart.
"""

from __future__ import annotations

import asyncio

from nio import AsyncClient

from adapters.matrix.handling import Inbound
from adapters.matrix.platform import NAME, MatrixSettings
from adapters.matrix.rooms import DirectRooms
from adapters.matrix.sender import MatrixSender
from adapters.matrix.state import MatrixState
from adapters.matrix.sync import TIMELINE_LIMIT, SyncLoop
from adapters.matrix.transport import client_config
from bot.core import Core
from bot.outbox import Sender


class MatrixAdapter:
    name = NAME

    def __init__(self, core: Core, settings: MatrixSettings, *, sync_timeout_ms: int = 30_000,
                 backoff_base: float = 1.0, backoff_cap: float = 60.0, timeline_limit: int = TIMELINE_LIMIT) -> None:
        assert settings.homeserver and settings.user_id
        self.user_id = settings.user_id
        self.client = AsyncClient(settings.homeserver, self.user_id, config=client_config())
        self.state = MatrixState(core.engine, self.user_id)
        self.rooms = DirectRooms(self.client, self.state)
        self.matrix_sender = MatrixSender(self.client, core, settings, self.state, self.rooms)
        self.sender: Sender = self.matrix_sender
        self.inbound = Inbound(core, settings, self.client, self.state, self.rooms, self.matrix_sender, self.user_id)
        self.sync = SyncLoop(self.client, settings, self.state, self.matrix_sender, self.inbound,
                             sync_timeout_ms=sync_timeout_ms, backoff_base=backoff_base, backoff_cap=backoff_cap,
                             timeline_limit=timeline_limit)

    @property
    def ready(self) -> asyncio.Event:
        """Set after the first sync was handled."""
        return self.sync.ready

    async def start(self) -> None:
        self.sync.start()

    async def stop(self) -> None:
        await self.sync.stop()
        await self.client.close()

    async def health(self) -> tuple[bool, str]:
        return self.sync.connected, self.sync.detail

    # -- leadership (several replicas: only the leader syncs; every replica logs in and sends) -----------
    async def start_leader_duties(self) -> None:
        self.sync.lead()

    async def stop_leader_duties(self) -> None:
        await self.sync.follow()
