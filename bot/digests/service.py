"""What a digest says, computed with a fixed number of queries whatever the community's size.

Health figures (also in the README):
- active members: distinct people with at least one contribution (joined, shared, voted, proposed,
  upvoted, answered...) in the period; anonymous votes are not counted;
- new contributors: people whose first contribution to the community other than joining it falls in
  the period;
- median time to first answer: over ideas answered in the period, the time from proposal to the
  manager's answer, and over consultations decided in the period, from closing to the decision;
- trend: active members compared with the previous period of the same length.
"""

from __future__ import annotations

import logging
import re
import statistics
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import and_, case, distinct, func, or_
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from bot.digests.providers import PROVIDERS
from bot.errors import UserError
from bot.i18n import _
from bot.settings import Settings
from storage.tables import (
    Community,
    CommunityActivity,
    CommunityChannel,
    CommunityTopic,
    Consultation,
    ConsultationOption,
    DigestRun,
    DigestSchedule,
    Idea,
    Membership,
    Person,
    Resource,
)

log = logging.getLogger(__name__)

DEFAULT_CRON = "0 9 * * 1"  # Monday 09:00, in the settings' time zone (Europe/Paris by default)
MIN_INTERVAL = timedelta(hours=1)
LIST_LIMIT = 10


# -- schedules -------------------------------------------------------------------------------------
_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _weekday_field(field_text: str) -> str:
    """Standard cron counts weekdays from Sunday = 0 (or 7); APScheduler 3 from Monday = 0: use names."""
    return re.sub(r"(?<![/\w])([0-7])(?![\w])", lambda m: _WEEKDAYS[int(m.group(1))], field_text)


def crontab(cron: str, zone: ZoneInfo) -> CronTrigger:
    """A trigger from a five-field crontab line, with cron's meaning of weekday numbers."""
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


def set_schedule(session: Session, community_id: int, cron: str, tz: str, person_id: int, now: datetime) -> None:
    row = session.exec(select(DigestSchedule).where(DigestSchedule.community_id == community_id)).first()
    if row is None:
        row = DigestSchedule(community_id=community_id, cron=cron, timezone=tz)
    row.cron, row.timezone, row.updated_by, row.updated_at = cron, tz, person_id, now
    session.add(row)
    session.flush()


def manual_period(session: Session, settings: Settings, community_id: int, now: datetime) -> tuple[datetime, datetime]:
    """`digest preview`/`now`: one schedule period (a week by default) up to now, included."""
    cron, tz = schedule_of(session, settings, community_id)
    last = last_fire(cron, tz, now)
    length = last - period_before(cron, tz, last) if last is not None else timedelta(days=7)
    end = now + timedelta(microseconds=1)  # periods are half-open: what happened just now counts
    return end - length, end


# -- content ---------------------------------------------------------------------------------------
@dataclass
class Health:
    active: int
    previous_active: int
    new_contributors: int
    median_answer: timedelta | None


@dataclass
class ConsultationSummary:
    consultation: Consultation
    options: list[ConsultationOption]

    @property
    def total(self) -> int:
        return sum(o.votes for o in self.options)


@dataclass
class Digest:
    community: Community
    start: datetime
    end: datetime
    new_members: list[str]
    new_member_count: int
    resources: list[Resource]
    open_consultations: list[ConsultationSummary]
    closed_consultations: list[ConsultationSummary]
    new_ideas: list[Idea]
    answered_ideas: list[Idea]
    health: Health
    extra: list[tuple[str, list[str]]] = field(default_factory=list)  # (provider key, lines)

    @property
    def empty(self) -> bool:
        return not (self.new_member_count or self.resources or self.open_consultations or self.closed_consultations
                    or self.new_ideas or self.answered_ideas or any(lines for _k, lines in self.extra)
                    or self.health.active)


def build(session: Session, community: Community, start: datetime, end: datetime) -> Digest:
    """Gather a digest with a constant number of queries (lists are capped, figures aggregated)."""
    cid = community.id
    assert cid is not None
    in_period = and_(col(Membership.joined_at) >= start, col(Membership.joined_at) < end,
                     col(Membership.community_id) == cid)
    new_members = list(session.exec(select(Person.display_name).join(Membership, col(Membership.person_id) == Person.id)
                                    .where(in_period).order_by(col(Membership.joined_at)).limit(LIST_LIMIT)))
    new_member_count = session.exec(select(func.count()).select_from(Membership).where(in_period)).one()
    resources = list(session.exec(select(Resource).where(Resource.community_id == cid, Resource.shared_at >= start,
                                                         Resource.shared_at < end)
                                  .order_by(col(Resource.shared_at)).limit(LIST_LIMIT)))
    consultations = list(session.exec(select(Consultation).where(
        Consultation.community_id == cid, Consultation.created_at < end,
        or_(col(Consultation.closed_at).is_(None), and_(col(Consultation.closed_at) >= start,
                                                        col(Consultation.closed_at) < end)))
        .order_by(col(Consultation.id)).limit(2 * LIST_LIMIT)))
    by_consultation: dict[int, list[ConsultationOption]] = {}
    if consultations:
        for option in session.exec(select(ConsultationOption).where(
                col(ConsultationOption.consultation_id).in_([c.id for c in consultations]))
                .order_by(col(ConsultationOption.number))):
            by_consultation.setdefault(option.consultation_id, []).append(option)
    summaries = [ConsultationSummary(c, by_consultation.get(c.id or 0, [])) for c in consultations]
    ideas = list(session.exec(select(Idea).where(Idea.community_id == cid, or_(
        and_(col(Idea.created_at) >= start, col(Idea.created_at) < end),
        and_(col(Idea.answered_at) >= start, col(Idea.answered_at) < end)))
        .order_by(col(Idea.upvotes).desc(), col(Idea.id)).limit(2 * LIST_LIMIT)))
    answered = [i for i in ideas if i.answered_at is not None and start <= i.answered_at < end]
    new_ideas = [i for i in ideas if i not in answered]
    digest = Digest(community, start, end, new_members, int(new_member_count), resources,
                    [s for s in summaries if s.consultation.closed_at is None],
                    [s for s in summaries if s.consultation.closed_at is not None],
                    new_ideas, answered, health(session, cid, start, end))
    if PROVIDERS:
        topics = list(session.exec(select(CommunityTopic.topic).where(CommunityTopic.community_id == cid)))
        for provider in PROVIDERS.values():
            try:
                lines = provider.func(session, cid, topics, start, end)
            except Exception:  # another capability's bug must not stop the digest
                log.exception("digest provider %s failed", provider.key)
                continue
            if lines:
                digest.extra.append((provider.key, lines[:LIST_LIMIT]))
    return digest


def health(session: Session, community_id: int, start: datetime, end: datetime) -> Health:
    previous_start = start - (end - start)
    act = CommunityActivity
    counts = session.exec(select(
        func.count(distinct(case((col(act.at) >= start, act.person_id)))),
        func.count(distinct(case((col(act.at) < start, act.person_id)))),
    ).where(act.community_id == community_id, col(act.at) >= previous_start, col(act.at) < end,
            col(act.person_id).is_not(None))).one()
    earlier = aliased(CommunityActivity)
    first_time = session.exec(select(func.count(distinct(col(act.person_id)))).where(
        act.community_id == community_id, col(act.at) >= start, col(act.at) < end, act.kind != "joined",
        col(act.person_id).is_not(None),
        ~select(earlier.id).where(earlier.community_id == community_id, earlier.person_id == act.person_id,
                                  col(earlier.at) < start, earlier.kind != "joined").exists())).one()
    delays: list[float] = []
    for created, answered in session.exec(select(Idea.created_at, Idea.answered_at).where(
            Idea.community_id == community_id, col(Idea.answered_at) >= start, col(Idea.answered_at) < end)):
        if answered is not None:
            delays.append((answered - created).total_seconds())
    for closed, decided in session.exec(select(Consultation.closed_at, Consultation.decided_at).where(
            Consultation.community_id == community_id, col(Consultation.decided_at) >= start,
            col(Consultation.decided_at) < end)):
        if closed is not None and decided is not None:
            delays.append(max(0.0, (decided - closed).total_seconds()))
    median = timedelta(seconds=statistics.median(delays)) if delays else None
    return Health(int(counts[0]), int(counts[1]), int(first_time), median)


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
    query = (sa_select(col(Community.id), col(Community.created_at), col(DigestSchedule.cron),
                    col(DigestSchedule.timezone), col(DigestSchedule.updated_at))
             .outerjoin(DigestSchedule, col(DigestSchedule.community_id) == Community.id)
             .where(col(Community.archived_at).is_(None),
                    col(Community.id).in_(select(CommunityChannel.community_id))))
    if community_ids is not None:
        query = query.where(col(Community.id).in_(community_ids))
    if default_only:
        query = query.where(col(DigestSchedule.id).is_(None))
    candidates: list[Due] = []
    fires: dict[tuple[str, str], datetime | None] = {}
    for cid, created_at, cron, tz, updated_at in session.execute(query).all():
        key = (cron or DEFAULT_CRON, tz or settings.timezone)
        if key not in fires:
            fires[key] = last_fire(key[0], key[1], now)
        end = fires[key]
        since = max(created_at, updated_at) if updated_at is not None else created_at
        if end is None or end <= since:
            continue
        candidates.append(Due(int(cid), period_before(key[0], key[1], end), end))
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
