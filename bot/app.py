"""Builds the application: settings, storage, the capabilities' assembly, adapters, scheduler.

This module and `bot.cli` are the composition root: the only places in `bot` that name the platforms
(`PLATFORM_MODULES`, their descriptors). Everything else in `bot` asks the descriptors (`bot.platforms`)
and adapters get a `bot.core.Core`, never the application.

Imports are lazy on purpose: a console command needs no HTTP server, metrics, scheduler or platform
library before its first answer (`tests/bench/bench_startup.py`).
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any, TextIO

from sqlalchemy.engine import Engine

from bot import logs
from bot.capability import Assembly, Capability, assemble
from bot.clock import Clock, SystemClock
from bot.commands.router import Router
from bot.core import Core
from bot.outbox import Outbox
from bot.platforms import Platforms
from bot.settings import Settings
from storage.db import make_engine
from storage.migrate import upgrade

if TYPE_CHECKING:
    from bot.http import HttpServer
    from bot.outbox.edits import EditWorker
    from bot.outbox.worker import DeliveryWorker
    from bot.scheduler import JobContext
    from bot.supervision import PlatformAdapter, SupervisedAdapter

log = logging.getLogger(__name__)

# The platforms Cercle knows, in the order people read them ("Slack and Matrix"); each module has a
# `PLATFORM` descriptor. A new platform is a package under `adapters/` and one line here.
PLATFORM_MODULES = ("adapters.slack.platform", "adapters.matrix.platform", "adapters.console.platform")
CONSOLE = "console"  # the platform `cercle run` falls back to, and `cercle console` runs


@cache
def default_platforms() -> Platforms:
    return Platforms.load(PLATFORM_MODULES)


def default_capabilities() -> tuple[Capability, ...]:
    """What `cercle` runs, in the order help lists it."""
    from bot import commands, communities, consultations, crisis, digests, home, people, referrals

    return (commands.CAPABILITY, home.CAPABILITY, people.CAPABILITY, communities.CAPABILITY, referrals.CAPABILITY,
            consultations.CAPABILITY, digests.CAPABILITY, crisis.CAPABILITY)


@dataclass
class Application:
    settings: Settings
    engine: Engine
    router: Router
    clock: Clock
    assembly: Assembly
    platforms: Platforms
    outbox: Outbox = field(default_factory=Outbox)  # its notifier wakes this application's delivery workers
    core: Core = field(init=False)

    def __post_init__(self) -> None:
        self.core = Core(self.settings, self.engine, self.clock, self.router, self.platforms, self.outbox)

    def job_context(self) -> JobContext:
        from bot.scheduler import JobContext

        return JobContext(self.engine, self.settings, self.clock, self.assembly, self.outbox)


def build(settings: Settings, *, clock: Clock | None = None, migrate: bool = True, engine: Engine | None = None,
          capabilities: Iterable[Capability] | None = None, platforms: Platforms | None = None) -> Application:
    """Everything but the network: engine (migrated), the assembly of `capabilities` (default: every
    capability of Cercle), the platforms (default: `PLATFORM_MODULES`' descriptors), router."""
    assembly = assemble(default_capabilities() if capabilities is None else capabilities)
    platforms = platforms if platforms is not None else default_platforms()
    # Logging is process-wide configuration: the redactor behind every handler learns this application's
    # secrets here, once (see HACKING.md, "Logs").
    logs.REDACTOR.add_secrets(settings.secrets())
    engine = engine or make_engine(settings.database_url)
    if migrate:
        upgrade(engine)
    clock = clock or SystemClock()
    outbox = Outbox()
    router = Router(engine, settings, assembly, clock=clock, outbox=outbox, platforms=platforms)
    return Application(settings, engine, router, clock, assembly, platforms, outbox)


def platform_adapters(app: Application, http: HttpServer | None) -> list[PlatformAdapter]:
    """The adapters of the platforms whose settings are present, built by their descriptors' factories."""
    adapters: list[PlatformAdapter] = []
    for descriptor in app.platforms:
        section = app.settings.section(descriptor.name)
        if descriptor.build is not None and section is not None and section.configured:
            adapters.append(descriptor.build(app.core, section, http))
    return adapters


class LeaderDuties:
    """What only the leader runs: the scheduler and the adapters' leader-only parts."""

    def __init__(self, app: Application, adapters: list[SupervisedAdapter]) -> None:
        self.app = app
        self.adapters = adapters
        self.scheduler: Any = None

    async def elected(self) -> None:
        from bot.scheduler import build_scheduler

        self.scheduler = build_scheduler(self.app.job_context())
        self.scheduler.start()
        for adapter in self.adapters:
            adapter.set_leader(True)

    async def demoted(self) -> None:
        """The scheduler stops, then the adapters' duties (waited for, briefly): the lock is released after."""
        from bot.shutdown import DUTIES_GRACE

        scheduler, self.scheduler = self.scheduler, None
        if scheduler is not None:
            scheduler.shutdown(wait=False)
        for adapter in self.adapters:
            adapter.set_leader(False)
        await asyncio.gather(*(adapter.settle(DUTIES_GRACE) for adapter in self.adapters))


def delivery_worker(app: Application, senders: dict[str, Any], **options: Any) -> DeliveryWorker:
    """A delivery worker paced as each platform's descriptor says, woken by this application's outbox, asking
    the capabilities' delivery guards about each private row before sending it."""
    from bot.outbox.worker import DeliveryWorker

    options.setdefault("edits", edit_worker(app, senders))
    options.setdefault("limits", app.platforms.limits())
    options.setdefault("guard", app.assembly.delivery_guards(app.settings))
    return DeliveryWorker(app.engine, senders, clock=app.clock, notifier=app.outbox.notifier, **options)


def edit_worker(app: Application, senders: dict[str, Any], **options: Any) -> EditWorker:
    """The worker updating live posts in place, with the capabilities' views and each platform's edit pace."""
    from bot.outbox.edits import EditWorker

    options.setdefault("limits", app.platforms.edit_limits())
    return EditWorker(app.engine, senders, app.settings, app.assembly.live_views(), clock=app.clock,
                      notifier=app.outbox.notifier, **options)


async def serve(app: Application, *, stop: asyncio.Event | None = None,
                adapters: Sequence[PlatformAdapter] | None = None, http: HttpServer | None = None,
                leadership_interval: float = 2.0, gauges_interval: float = 15.0, adapter_retry: float = 1.0,
                ) -> None:
    """`cercle run` with at least one platform. Every replica serves HTTP and runs a delivery worker;
    the leader (see `bot.leadership`) also runs the scheduler and the adapters' leader-only duties.
    A platform that fails to start is retried and reported on /healthz; the others keep running.
    SIGTERM or SIGINT (or `stop`) stops it within `bot.shutdown.STOP_BUDGET` seconds (see there)."""
    from bot.heap import settle_heap
    from bot.http import HttpServer
    from bot.leadership import Leadership
    from bot.monitoring import run_outbox_gauges
    from bot.shutdown import shut_down
    from bot.supervision import SupervisedAdapter

    stop = stop or asyncio.Event()
    http = http or HttpServer.from_settings(app.engine, app.settings)
    supervised = [SupervisedAdapter(a, first_delay=adapter_retry)
                  for a in (platform_adapters(app, http) if adapters is None else adapters)]
    for adapter in supervised:
        http.add_check(adapter.name, adapter.health)
    leadership = Leadership(app.engine, interval=leadership_interval, clock=app.clock)
    http.add_check("leadership", leadership.health)
    duties = LeaderDuties(app, supervised)
    worker = delivery_worker(app, {a.adapter.sender.platform: a.adapter.sender for a in supervised})
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    tasks: list[asyncio.Task[None]] = []
    try:
        await http.start()
        if not await _first_start(supervised, stop):
            return  # told to stop while a platform was still starting: stop now, not once it has started
        for adapter in supervised:
            adapter.launch()
        settle_heap()  # what has started stays: full collections no longer walk it, and come rarely (bot/heap.py)
        tasks += [asyncio.create_task(worker.run(), name="delivery"),
                  asyncio.create_task(leadership.run(duties.elected, duties.demoted), name="leadership"),
                  asyncio.create_task(run_outbox_gauges(app.engine, stop, clock=app.clock,
                                                        interval=gauges_interval), name="outbox-gauges")]
        log.info("cercle running: %s; http on %s:%s", ", ".join(a.name for a in supervised) or "no platform",
                 app.settings.http_host, http.bound_port)
        await stop.wait()
    finally:
        stop.set()
        await shut_down(http=http, adapters=supervised, worker=worker, leadership=leadership, tasks=tasks)


async def _first_start(supervised: Sequence[SupervisedAdapter], stop: asyncio.Event) -> bool:
    """Each platform's first start (30 s at most), unless `stop` comes first (then False)."""
    starting: asyncio.Future[Any] = asyncio.gather(*(adapter.first_start(timeout=30) for adapter in supervised))
    stopping: asyncio.Future[Any] = asyncio.ensure_future(stop.wait())
    await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    if starting.done():
        return not stop.is_set()
    starting.cancel()
    with suppress(asyncio.CancelledError):
        await starting
    return False


async def run_console(app: Application, *, user: str, channel: str, stdin: TextIO | None = None,
                      stdout: TextIO | None = None) -> None:
    """The console adapter, with its own delivery worker. The scheduler (digests, reminders) starts once
    the console waits for input: a piped script that ends at once never loads it. No metrics: the
    console serves no /metrics."""
    import sys

    from adapters.console.adapter import ConsoleAdapter, ConsoleSender
    from bot import metrics

    metrics.disable()
    out = stdout or sys.stdout
    worker = delivery_worker(app, {CONSOLE: ConsoleSender(out)})
    scheduler: list[Any] = []

    def start_scheduler() -> None:
        from bot.scheduler import build_scheduler

        if not scheduler:
            scheduler.append(build_scheduler(app.job_context()))
            scheduler[0].start()

    console = ConsoleAdapter(app.core, worker, user=user, channel=channel, stdin=stdin, stdout=out,
                             on_waiting=start_scheduler)
    try:
        await console.run()
    finally:
        for running in scheduler:
            running.shutdown(wait=False)

