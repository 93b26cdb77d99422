"""APScheduler wiring: periodic jobs declared by the capabilities, run in a worker thread.

Jobs are idempotent by construction (a digest run is unique on (community, period); a
reminder is unique on (subject, recipient, round)), so a job that runs twice, or on two
replicas at once, has one effect.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine

from bot import metrics
from bot.clock import Clock
from bot.settings import Settings

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobContext:
    engine: Engine
    settings: Settings
    clock: Clock
    scheduler: AsyncIOScheduler | None = None


JobFunc = Callable[[JobContext], Any]


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    seconds: float
    func: JobFunc


PERIODIC: list[PeriodicJob] = []
STARTUP: list[Callable[[JobContext], None]] = []  # e.g. digests rebuild their cron jobs from the database


def periodic(name: str, seconds: float) -> Callable[[JobFunc], JobFunc]:
    """Declare a job that runs every `seconds` (reminders, closings, lapses)."""

    def decorate(func: JobFunc) -> JobFunc:
        PERIODIC.append(PeriodicJob(name, seconds, func))
        return func

    return decorate


def on_start(func: Callable[[JobContext], None]) -> Callable[[JobContext], None]:
    STARTUP.append(func)
    return func


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
    from apscheduler.schedulers.asyncio import AsyncIOScheduler  # only where a scheduler runs: not a quick command

    scheduler = AsyncIOScheduler(timezone=ctx.settings.timezone)
    full = JobContext(ctx.engine, ctx.settings, ctx.clock, scheduler)
    for job in PERIODIC:
        scheduler.add_job(run_job, "interval", seconds=job.seconds, args=(job.name, job.func, full), id=job.name,
                          max_instances=1, coalesce=True, replace_existing=True)
    for hook in STARTUP:
        hook(full)
    return scheduler


def run_all_now(ctx: JobContext) -> None:
    """Run every periodic job once, synchronously (tests with a controllable clock, `cercle` tools)."""
    for job in PERIODIC:
        job.func(ctx)
