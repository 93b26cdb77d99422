"""Builds the application: settings, storage, the capabilities' assembly, adapters, scheduler.

This module and `bot.cli` are the composition root: the only places in `bot` that know the
adapters exist. Everything else in `bot` is platform-neutral.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Iterable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any, TextIO

from sqlalchemy.engine import Engine, make_url

from bot import logs
from bot.capability import Assembly, Capability, assemble
from bot.clock import Clock, SystemClock
from bot.commands.router import Router
from bot.http import HttpServer
from bot.leadership import Leadership
from bot.monitoring import run_outbox_gauges
from bot.outbox import Outbox, RateLimit
from bot.outbox.worker import DeliveryWorker
from bot.scheduler import JobContext, build_scheduler
from bot.settings import Settings
from bot.supervision import PlatformAdapter, SupervisedAdapter
from storage.db import make_engine
from storage.migrate import upgrade

log = logging.getLogger(__name__)


# Each platform's pace, for the delivery workers. Slack: about one message per second per channel, and
# a workspace-wide budget of a few hundred a minute for chat.postMessage. Matrix homeservers say it
# with 429s, which pause the workspace.
PLATFORM_LIMITS: dict[str, RateLimit] = {"slack": RateLimit(per_target=1.0, per_second=5.0)}


def default_capabilities() -> tuple[Capability, ...]:
    """What `cercle` runs, in the order help lists it."""
    from bot import commands, communities, consultations, crisis, digests, people, referrals

    return (commands.CAPABILITY, people.CAPABILITY, communities.CAPABILITY, referrals.CAPABILITY,
            consultations.CAPABILITY, digests.CAPABILITY, crisis.CAPABILITY)


@dataclass
class Application:
    settings: Settings
    engine: Engine
    router: Router
    clock: Clock
    assembly: Assembly
    outbox: Outbox = field(default_factory=Outbox)  # its notifier wakes this application's delivery workers

    def job_context(self) -> JobContext:
        return JobContext(self.engine, self.settings, self.clock, self.assembly, self.outbox)


def build(settings: Settings, *, clock: Clock | None = None, migrate: bool = True, engine: Engine | None = None,
          capabilities: Iterable[Capability] | None = None) -> Application:
    """Everything but the network: engine (migrated), the assembly of `capabilities` (default: every
    capability of Cercle), router."""
    assembly = assemble(default_capabilities() if capabilities is None else capabilities)
    logs.REDACTOR.add_secrets(secret_values(settings))
    engine = engine or make_engine(settings.database_url)
    if migrate:
        upgrade(engine)
    clock = clock or SystemClock()
    outbox = Outbox()
    router = Router(engine, settings, assembly, clock=clock, outbox=outbox)
    return Application(settings, engine, router, clock, assembly, outbox)


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


def secret_values(settings: Settings) -> list[str | None]:
    """The settings' secrets, which the log redactor removes wherever they would appear."""
    return [settings.slack_bot_token, settings.slack_signing_secret, settings.slack_app_token,
            settings.matrix_password, settings.matrix_access_token, make_url(settings.database_url).password,
            settings.metrics_token, *settings.secret_keys]


class LeaderDuties:
    """What only the leader runs: the scheduler and the adapters' leader-only parts."""

    def __init__(self, app: Application, adapters: list[SupervisedAdapter]) -> None:
        self.app = app
        self.adapters = adapters
        self.scheduler: Any = None

    async def elected(self) -> None:
        self.scheduler = build_scheduler(self.app.job_context())
        self.scheduler.start()
        for adapter in self.adapters:
            adapter.set_leader(True)

    async def demoted(self) -> None:
        for adapter in self.adapters:
            adapter.set_leader(False)
        scheduler, self.scheduler = self.scheduler, None
        if scheduler is not None:
            scheduler.shutdown(wait=False)


async def serve(app: Application, *, stop: asyncio.Event | None = None,
                adapters: Sequence[PlatformAdapter] | None = None, http: HttpServer | None = None,
                leadership_interval: float = 2.0, gauges_interval: float = 15.0, adapter_retry: float = 1.0,
                limits: Mapping[str, RateLimit] = PLATFORM_LIMITS) -> None:
    """`cercle run` with at least one platform. Every replica serves HTTP and runs a delivery worker;
    the leader (see `bot.leadership`) also runs the scheduler and the adapters' leader-only duties.
    A platform that fails to start is retried and reported on /healthz; the others keep running."""
    stop = stop or asyncio.Event()
    http = http or HttpServer.from_settings(app.engine, app.settings)
    supervised = [SupervisedAdapter(a, first_delay=adapter_retry)
                  for a in (platform_adapters(app, http) if adapters is None else adapters)]
    for adapter in supervised:
        http.add_check(adapter.name, adapter.health)
    leadership = Leadership(app.engine, interval=leadership_interval, clock=app.clock)
    http.add_check("leadership", leadership.health)
    duties = LeaderDuties(app, supervised)
    worker = DeliveryWorker(app.engine, {a.adapter.sender.platform: a.adapter.sender for a in supervised},
                            clock=app.clock, limits=limits, notifier=app.outbox.notifier)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    await http.start()
    await asyncio.gather(*(adapter.first_start(timeout=30) for adapter in supervised))
    for adapter in supervised:
        adapter.launch()
    tasks = [asyncio.create_task(worker.run(), name="delivery"),
             asyncio.create_task(leadership.run(duties.elected, duties.demoted), name="leadership"),
             asyncio.create_task(run_outbox_gauges(app.engine, stop, clock=app.clock, interval=gauges_interval),
                                 name="outbox-gauges")]
    log.info("cercle running: %s; http on %s:%s", ", ".join(a.name for a in supervised) or "no platform",
             app.settings.http_host, http.bound_port)
    try:
        await stop.wait()
    finally:
        stop.set()
        leadership.stop()
        worker.stop()
        with suppress(Exception):
            await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), timeout=10)
        for adapter in supervised:
            with suppress(Exception):
                await adapter.stop()
        await http.stop()
        log.info("cercle stopped")


async def run_console(app: Application, *, user: str, channel: str, stdin: TextIO | None = None,
                      stdout: TextIO | None = None) -> None:
    """The console adapter, with its own delivery worker (and the scheduler, for digests and reminders)."""
    import sys

    from adapters.console.adapter import ConsoleAdapter, ConsoleSender

    out = stdout or sys.stdout
    worker = DeliveryWorker(app.engine, {"console": ConsoleSender(out)}, clock=app.clock, notifier=app.outbox.notifier)
    console = ConsoleAdapter(app.router, worker, user=user, channel=channel, stdin=stdin, stdout=out)
    scheduler = build_scheduler(app.job_context())
    scheduler.start()
    try:
        await console.run()
    finally:
        scheduler.shutdown(wait=False)
