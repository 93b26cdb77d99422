"""Builds the application: settings, storage, services, adapters, scheduler.

This module and `bot.cli` are the composition root: the only places in `bot` that know the
adapters exist. Everything else in `bot` is platform-neutral.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any, Protocol, TextIO

from sqlalchemy.engine import Engine

from bot import capabilities
from bot.clock import Clock, SystemClock
from bot.commands.router import Router
from bot.delivery import PLATFORM_LIMITS, DeliveryWorker, Sender
from bot.http import HttpServer
from bot.scheduler import JobContext, build_scheduler
from bot.settings import Settings
from storage.db import make_engine
from storage.migrate import upgrade

log = logging.getLogger(__name__)


class PlatformAdapter(Protocol):
    """What `cercle run` needs of a chat platform."""

    name: str
    sender: Sender

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def health(self) -> tuple[bool, str]: ...


@dataclass
class Application:
    settings: Settings
    engine: Engine
    router: Router
    clock: Clock
    services: dict[str, Any] = field(default_factory=dict)

    def job_context(self) -> JobContext:
        return JobContext(self.engine, self.settings, self.clock)


def build(settings: Settings, *, clock: Clock | None = None, migrate: bool = True,
          engine: Engine | None = None) -> Application:
    """Everything but the network: engine (migrated), commands, router."""
    capabilities.load()
    engine = engine or make_engine(settings.database_url)
    if migrate:
        upgrade(engine)
    clock = clock or SystemClock()
    services: dict[str, Any] = {}
    router = Router(engine, settings, clock=clock, services=services)
    return Application(settings, engine, router, clock, services)


def platform_adapters(app: Application, http: HttpServer) -> list[PlatformAdapter]:
    """The adapters whose settings are present."""
    adapters: list[PlatformAdapter] = []
    if app.settings.slack_enabled:
        from adapters.slack import build_adapter as build_slack

        adapters.append(build_slack(app, http))
    if app.settings.matrix_enabled:
        from adapters.matrix import build_adapter as build_matrix

        adapters.append(build_matrix(app))
    return adapters


async def serve(app: Application, *, stop: asyncio.Event | None = None) -> None:
    """`cercle run` with at least one platform: HTTP, adapters, delivery workers, scheduler."""
    stop = stop or asyncio.Event()
    http = HttpServer(app.engine, app.settings.http_host, app.settings.http_port)
    adapters = platform_adapters(app, http)
    for adapter in adapters:
        http.add_check(adapter.name, adapter.health)
    worker = DeliveryWorker(app.engine, {a.sender.platform: a.sender for a in adapters}, clock=app.clock,
                            limits=PLATFORM_LIMITS)
    scheduler = build_scheduler(app.job_context())
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    await http.start()
    for adapter in adapters:
        await adapter.start()
    scheduler.start()
    worker_task = asyncio.create_task(worker.run())
    log.info("cercle running: %s; http on %s:%s", ", ".join(a.name for a in adapters),
             app.settings.http_host, http.bound_port)
    try:
        await stop.wait()
    finally:
        scheduler.shutdown(wait=False)
        worker.stop()
        with suppress(Exception):
            await asyncio.wait_for(worker_task, timeout=5)
        for adapter in adapters:
            with suppress(Exception):
                await adapter.stop()
        await http.stop()


async def run_console(app: Application, *, user: str, channel: str, stdin: TextIO | None = None,
                      stdout: TextIO | None = None) -> None:
    """The console adapter, with its own delivery worker (and the scheduler, for digests and reminders)."""
    import sys

    from adapters.console.adapter import ConsoleAdapter, ConsoleSender

    out = stdout or sys.stdout
    worker = DeliveryWorker(app.engine, {"console": ConsoleSender(out)}, clock=app.clock)
    console = ConsoleAdapter(app.router, worker, user=user, channel=channel, stdin=stdin, stdout=out)
    scheduler = build_scheduler(app.job_context())
    scheduler.start()
    try:
        await console.run()
    finally:
        scheduler.shutdown(wait=False)
