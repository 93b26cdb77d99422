"""Scheduled work: periodic jobs and start-up hooks declared by the capabilities, run by APScheduler
in a worker thread.

`@periodic` and `@on_start` only mark a function; the capability listing its module contributes it
to the application's assembly, and `build_scheduler` runs what the assembly holds.

Jobs are idempotent by construction (a digest run is unique on (community, period); a
reminder is unique on (subject, recipient, round)), so a job that runs twice, or on two
replicas at once, has one effect.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine

from bot import metrics
from bot.clock import Clock
from bot.outbox import Outbox
from bot.settings import Settings

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from bot.capability import Assembly

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobContext:
    """What a job gets: the database, settings and clock, the assembly it belongs to (e.g. the digest
    sections), the application's outbox, and the scheduler when it runs inside one."""

    engine: Engine
    settings: Settings
    clock: Clock
    assembly: Assembly
    outbox: Outbox = field(default_factory=Outbox)
    scheduler: AsyncIOScheduler | None = None


JobFunc = Callable[[JobContext], Any]
StartupHook = Callable[[JobContext], None]

PERIODIC_ATTRIBUTE = "__cercle_periodic__"
ON_START_ATTRIBUTE = "__cercle_on_start__"


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    seconds: float
    func: JobFunc


def periodic(name: str, seconds: float) -> Callable[[JobFunc], JobFunc]:
    """Declare a job that runs every `seconds` (reminders, closings, lapses)."""

    def decorate(func: JobFunc) -> JobFunc:
        setattr(func, PERIODIC_ATTRIBUTE, PeriodicJob(name, seconds, func))
        return func

    return decorate


def on_start(func: StartupHook) -> StartupHook:
    """Declare a hook run each time a scheduler starts (e.g. digests rebuild their cron jobs from the database)."""
    setattr(func, ON_START_ATTRIBUTE, True)
    return func


def periodic_job_of(value: object) -> PeriodicJob | None:
    job = getattr(value, PERIODIC_ATTRIBUTE, None)
    return job if isinstance(job, PeriodicJob) else None


def is_startup_hook(value: object) -> bool:
    return getattr(value, ON_START_ATTRIBUTE, False) is True


async def run_job(name: str, func: JobFunc, ctx: JobContext) -> None:
    """Run one job in a thread; an error is logged and counted, never fatal."""
    try:
        await asyncio.to_thread(func, ctx)
        metrics.SCHEDULER_RUNS.labels(name, "ok").inc()
    except asyncio.CancelledError:  # shutting down (a leader stepping down, the console ending): not an error
        metrics.SCHEDULER_RUNS.labels(name, "interrupted").inc()
        log.info("scheduled job %s interrupted by shutdown (its transaction commits or rolls back whole)", name)
    except Exception:
        metrics.SCHEDULER_RUNS.labels(name, "error").inc()
        log.exception("scheduled job %s failed", name)


def build_scheduler(ctx: JobContext) -> AsyncIOScheduler:
    """A scheduler running the assembly's periodic jobs, after its start-up hooks."""
    from apscheduler.schedulers.asyncio import AsyncIOScheduler  # only where a scheduler runs: not a quick command

    scheduler = AsyncIOScheduler(timezone=ctx.settings.timezone)
    full = replace(ctx, scheduler=scheduler)
    for job in ctx.assembly.jobs:
        scheduler.add_job(run_job, "interval", seconds=job.seconds, args=(job.name, job.func, full), id=job.name,
                          max_instances=1, coalesce=True, replace_existing=True)
    for hook in ctx.assembly.startup:
        hook(full)
    return scheduler


def run_all_now(ctx: JobContext) -> None:
    """Run every periodic job once, synchronously (tests with a controllable clock, `cercle` tools)."""
    for job in ctx.assembly.jobs:
        job.func(ctx)
