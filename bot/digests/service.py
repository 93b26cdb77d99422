"""Digests: schedules, the content of a batch of digests, and exactly-once runs.

A digest is what every capability contributes for its community and period: each `DigestSection` of the
application's assembly (communities: new members, resources, activity; consultations: consultations,
ideas, time to answer; referrals: open positions) gathers its parts for a whole batch of communities
with a fixed number of queries, whatever the communities' sizes. This module reads only the digests'
own tables; communities are reached through their service.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.communities import service as communities
from bot.digest_sections import DigestBatch, DigestPart, DigestSection
from bot.errors import UserError
from bot.i18n import _
from bot.settings import Settings
from storage.tables import DigestRun, DigestSchedule

if TYPE_CHECKING:
    from apscheduler.triggers.cron import CronTrigger

    from storage.tables import Community  # a row the communities service returns

log = logging.getLogger(__name__)

DEFAULT_CRON = "0 9 * * 1"  # Monday 09:00, in the settings' time zone (Europe/Paris by default)
MIN_INTERVAL = timedelta(hours=1)


# -- schedules -------------------------------------------------------------------------------------
_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _weekday_field(field_text: str) -> str:
    """Standard cron counts weekdays from Sunday = 0 (or 7); APScheduler 3 from Monday = 0: use names."""
    return re.sub(r"(?<![/\w])([0-7])(?![\w])", lambda m: _WEEKDAYS[int(m.group(1))], field_text)


def crontab(cron: str, zone: ZoneInfo) -> CronTrigger:
    """A trigger from a five-field crontab line, with cron's meaning of weekday numbers."""
    from apscheduler.triggers.cron import CronTrigger  # here: a process that never schedules does not load it

    fields = cron.split()
    if len(fields) != 5:
        raise ValueError(f"wrong number of fields; got {len(fields)}, expected 5")
    minute, hour, day, month, weekday = fields
    return CronTrigger(minute=minute, hour=hour, day=day, month=month, day_of_week=_weekday_field(weekday),
                       timezone=zone)


@cache
def trigger(cron: str, tz: str) -> CronTrigger:
    return crontab(cron, ZoneInfo(tz))


def validate(cron: str, tz: str, now: datetime) -> None:
    """A five-field cron in a known time zone, at most once an hour."""
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise UserError(_("'{tz}' is not a time zone. Use a name like Europe/Paris.", tz=tz[:60])) from None
    try:
        trig = crontab(cron, zone)
    except ValueError:
        raise UserError(_("'{cron}' is not a cron schedule. Give five fields: minute hour day month weekday, "
                          "like \"0 9 * * 1\" for Mondays at 9:00.", cron=cron[:80])) from None
    previous = trig.get_next_fire_time(None, now)
    for _i in range(24):
        if previous is None:
            break
        nxt = trig.get_next_fire_time(previous, previous + timedelta(seconds=1))
        if nxt is not None and nxt - previous < MIN_INTERVAL:
            raise UserError(_("A digest is posted at most once an hour: '{cron}' is too frequent.", cron=cron))
        previous = nxt


def last_fire(cron: str, tz: str, now: datetime) -> datetime | None:
    """The latest time the schedule fired at or before `now` (within a year)."""
    trig = trigger(cron, tz)
    for window in (timedelta(hours=2), timedelta(days=2), timedelta(days=8), timedelta(days=32),
                   timedelta(days=367)):
        moment = trig.get_next_fire_time(None, now - window)
        last = None
        while moment is not None and moment <= now:
            last = moment
            moment = trig.get_next_fire_time(moment, moment + timedelta(seconds=1))
        if last is not None:
            return last
    return None


def period_before(cron: str, tz: str, end: datetime) -> datetime:
    """The start of the period ending at the fire time `end`: the fire before it (or a week)."""
    previous = last_fire(cron, tz, end - timedelta(seconds=1))
    return previous if previous is not None else end - timedelta(days=7)


def schedule_of(session: Session, settings: Settings, community_id: int) -> tuple[str, str]:
    row = session.exec(select(DigestSchedule).where(DigestSchedule.community_id == community_id)).first()
    return (row.cron, row.timezone) if row else (DEFAULT_CRON, settings.timezone)


def schedule_row(session: Session, community_id: int) -> DigestSchedule | None:
    """The community's own schedule (None: it follows the default)."""
    return session.exec(select(DigestSchedule).where(DigestSchedule.community_id == community_id)).first()


def set_schedule(session: Session, community_id: int, cron: str, tz: str, person_id: int, now: datetime) -> None:
    """Set the schedule (and turn the digest back on if it was off)."""
    row = schedule_row(session, community_id)
    if row is None:
        row = DigestSchedule(community_id=community_id, cron=cron, timezone=tz)
    row.cron, row.timezone, row.updated_by, row.updated_at = cron, tz, person_id, now
    row.off_since = None
    session.add(row)
    session.flush()


def turn_off(session: Session, settings: Settings, community_id: int, person_id: int, now: datetime) -> bool:
    """`digest schedule <slug> off`: no digest until a schedule is set again. False if it was off already."""
    row = schedule_row(session, community_id)
    if row is not None and row.off_since is not None:
        return False
    if row is None:
        row = DigestSchedule(community_id=community_id, cron=DEFAULT_CRON, timezone=settings.timezone)
    row.updated_by, row.updated_at, row.off_since = person_id, now, now
    session.add(row)
    session.flush()
    return True


def manual_key(session: Session, settings: Settings, community_id: int, now: datetime) -> str:
    """What makes a `digest now` once per schedule period: the period's start (the schedule's last fire)."""
    cron, tz = schedule_of(session, settings, community_id)
    last = last_fire(cron, tz, now)
    return last.isoformat() if last is not None else "none"


def manual_period(session: Session, settings: Settings, community_id: int, now: datetime) -> tuple[datetime, datetime]:
    """`digest preview`/`now`: one schedule period (a week by default) up to now, included."""
    cron, tz = schedule_of(session, settings, community_id)
    last = last_fire(cron, tz, now)
    length = last - period_before(cron, tz, last) if last is not None else timedelta(days=7)
    end = now + timedelta(microseconds=1)  # periods are half-open: what happened just now counts
    return end - length, end


# -- content ---------------------------------------------------------------------------------------
@dataclass
class Digest:
    """One community's digest: each capability's part, in the order of its section."""

    community: Community
    start: datetime
    end: datetime
    parts: list[DigestPart] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not any(part.has_news for part in self.parts)


def build(session: Session, community: Community, start: datetime, end: datetime,
          sections: Sequence[DigestSection]) -> Digest:
    """The digest of one community (see `build_many`)."""
    assert community.id is not None
    return build_many(session, [community], start, end, sections)[community.id]


def build_many(session: Session, batch: list[Community], start: datetime, end: datetime,
               sections: Sequence[DigestSection]) -> dict[int, Digest]:
    """Digests of a batch of communities: each section gathers its parts for the whole batch with a fixed
    number of queries, so the total does not grow with the batch or the communities' sizes."""
    ids = tuple(c.id for c in batch if c.id is not None)
    digests = {c.id: Digest(c, start, end) for c in batch if c.id is not None}
    request = DigestBatch(ids, start, end)
    for section in sections:
        try:
            found = section.gather(session, request)
        except Exception:  # one capability's bug must not stop the digests
            log.exception("digest section %s failed", section.key)
            continue
        for cid, part in found.items():
            if cid in digests:
                digests[cid].parts.append(part)
    return digests


# -- runs ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Due:
    community_id: int
    start: datetime
    end: datetime


def due_runs(session: Session, settings: Settings, now: datetime, community_ids: list[int] | None = None,
             default_only: bool = False) -> list[Due]:
    """Periods that have ended and have no run yet: the latest one only (missed older ones are not
    replayed). Communities need a linked channel; the schedule must predate the period's end."""
    schedules = {row.community_id: row for row in session.exec(select(DigestSchedule))}
    candidates: list[Due] = []
    fires: dict[tuple[str, str], datetime | None] = {}
    # By id: replicas claim in the same order, so they never deadlock.
    for cid, created_at in communities.linked_active(session, community_ids):
        schedule = schedules.get(cid)
        if (default_only and schedule is not None) or (schedule is not None and schedule.off_since is not None):
            continue
        key = (schedule.cron, schedule.timezone) if schedule else (DEFAULT_CRON, settings.timezone)
        if key not in fires:
            fires[key] = last_fire(key[0], key[1], now)
        end = fires[key]
        updated_at = schedule.updated_at if schedule else None
        since = max(created_at, updated_at) if updated_at is not None else created_at
        if end is None or end <= since:
            continue
        candidates.append(Due(cid, period_before(key[0], key[1], end), end))
    if not candidates:
        return []
    done = set(session.exec(select(DigestRun.community_id, DigestRun.period_end).where(
        col(DigestRun.community_id).in_([d.community_id for d in candidates]),
        col(DigestRun.period_end).in_(list({d.end for d in candidates})))).all())
    return [d for d in candidates if (d.community_id, d.end) not in done]


def claim_run(session: Session, due: Due, now: datetime) -> DigestRun | None:
    """Insert the run row; None when another scheduler (or an earlier start) already has it."""
    run = DigestRun(community_id=due.community_id, period_start=due.start, period_end=due.end, ran_at=now)
    try:
        with session.begin_nested():
            session.add(run)
            session.flush()
    except IntegrityError:
        return None
    return run
