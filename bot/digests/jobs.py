"""Digest jobs: per-community cron jobs rebuilt from the database at start, catch-up of missed runs.

A run is a `DigestRun` row unique on (community, period end), inserted in the same transaction as the
outbox rows, so a retried job, a restart or two schedulers racing post each period once.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlmodel import Session, select

from bot.communities import service as communities
from bot.digests import messaging, service
from bot.outbox import Outbox
from bot.scheduler import JobContext, on_start, periodic, run_job
from bot.settings import Settings
from storage.db import session_scope
from storage.tables import Channel, DigestSchedule

if TYPE_CHECKING:
    from apscheduler.schedulers.base import BaseScheduler

    from storage.tables import Community  # a row the communities service returns

log = logging.getLogger(__name__)

DEFAULT_JOB = "digest:default"


@dataclass
class _Live:
    """The running scheduler, so `digest schedule` can add or replace a job at once."""

    scheduler: BaseScheduler | None = None
    ctx: JobContext | None = None


LIVE = _Live()


BATCH = 200


def post(outbox: Outbox, session: Session, settings: Settings, digest: service.Digest,
         channels: list[Channel], *, key: str | None = None) -> int:
    """Queue a digest to every linked channel, once per (community, period end, channel) — or per `key`
    (`digest now`: once per schedule period). Returns how many channel posts were queued."""
    cid = digest.community.id
    period = key or digest.end.isoformat()
    return sum(outbox.send_to_channel(session, settings, channel, lambda: messaging.render(digest),
                                      subject=f"digest:{cid}", dedupe_key=f"digest:{cid}:{period}:{channel.id}")
               for channel in channels)


def run_due(ctx: JobContext, community_ids: list[int] | None = None, default_only: bool = False) -> int:
    """Post every digest whose period has ended and has no run yet; returns how many were posted.

    Batches of communities share one transaction: run rows are claimed (a unique row each; another
    scheduler's row makes the claim fail and that community is skipped), the digests are built with a
    fixed number of queries, and the outbox rows are written before the commit.
    """
    now = ctx.clock.now()
    with session_scope(ctx.engine) as session:
        due = service.due_runs(session, ctx.settings, now, community_ids, default_only)
    posted = 0
    for i in range(0, len(due), BATCH):
        with session_scope(ctx.engine) as session:
            claimed = [(item, run) for item in due[i:i + BATCH] if (run := service.claim_run(session, item, now))]
            if not claimed:
                continue
            ids = [item.community_id for item, _run in claimed]
            found = communities.by_ids(session, ids)
            channels = communities.channels_many(session, ids)
            periods: dict[tuple[datetime, datetime], list[Community]] = {}
            for item, _run in claimed:
                periods.setdefault((item.start, item.end), []).append(found[item.community_id])
            sections = ctx.assembly.digest_sections
            digests = {cid: d for (start, end), batch in periods.items()
                       for cid, d in service.build_many(session, batch, start, end, sections).items()}
            for item, run in claimed:
                run.channels = post(ctx.outbox, session, ctx.settings, digests[item.community_id],
                                    channels.get(item.community_id, []))
                posted += 1
    if posted:
        log.info("posted %d digest(s)", posted)
    return posted


def _job_id(community_id: int) -> str:
    return f"digest:{community_id}"


def install(scheduler: BaseScheduler, ctx: JobContext, community_id: int, cron: str, tz: str) -> None:
    """Add or replace the cron job of one community."""
    func = functools.partial(run_due, community_ids=[community_id])
    scheduler.add_job(run_job, service.trigger(cron, tz), args=(_job_id(community_id), func, ctx),
                      id=_job_id(community_id), replace_existing=True, max_instances=1, coalesce=True,
                      misfire_grace_time=3600)


def sync_jobs(ctx: JobContext) -> None:
    """Make the scheduler's digest jobs match the database (at start, and periodically for replicas)."""
    scheduler = ctx.scheduler
    if scheduler is None:
        return
    default_func = functools.partial(run_due, default_only=True)
    scheduler.add_job(run_job, service.trigger(service.DEFAULT_CRON, ctx.settings.timezone),
                      args=(DEFAULT_JOB, default_func, ctx), id=DEFAULT_JOB, replace_existing=True,
                      max_instances=1, coalesce=True, misfire_grace_time=3600)
    with session_scope(ctx.engine) as session:
        schedules = [(s.community_id, s.cron, s.timezone) for s in session.exec(select(DigestSchedule))
                     if s.off_since is None]
    wanted = {_job_id(cid) for cid, _c, _t in schedules}
    for job in scheduler.get_jobs():
        if job.id.startswith("digest:") and job.id != DEFAULT_JOB and job.id not in wanted:
            job.remove()
    for cid, cron, tz in schedules:
        existing = scheduler.get_job(_job_id(cid))
        if existing is None or str(existing.trigger) != str(service.trigger(cron, tz)):
            install(scheduler, ctx, cid, cron, tz)


CATCH_UP_JOB = "digests.catch_up"


@on_start
def rebuild(ctx: JobContext) -> None:
    """At start: remember the scheduler, rebuild the cron jobs, and catch up the runs missed while down
    (a one-off job as soon as the scheduler starts, so a large catch-up does not hold the event loop)."""
    LIVE.scheduler, LIVE.ctx = ctx.scheduler, ctx
    if ctx.scheduler is None:
        run_due(ctx)
        return
    sync_jobs(ctx)
    ctx.scheduler.add_job(run_job, "date", args=(CATCH_UP_JOB, run_due, ctx), id=CATCH_UP_JOB,
                          replace_existing=True, misfire_grace_time=None)


@periodic("digests.sync", 300)
def resync(ctx: JobContext) -> None:
    """Another replica may have changed a schedule: follow the database (only inside a scheduler)."""
    if ctx.scheduler is not None:
        sync_jobs(ctx)


def schedule_changed(community_id: int, cron: str | None, tz: str) -> bool:
    """Called by `digest schedule`: replace the live job (remove it: `cron` None, the digest is off) if this
    process runs a scheduler."""
    if LIVE.scheduler is None or LIVE.ctx is None:
        return False
    if cron is None:
        if LIVE.scheduler.get_job(_job_id(community_id)) is not None:
            LIVE.scheduler.remove_job(_job_id(community_id))
        return True
    install(LIVE.scheduler, LIVE.ctx, community_id, cron, tz)
    return True
