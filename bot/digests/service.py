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
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import and_, case, distinct, func, or_
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from bot.digests.providers import PROVIDERS
from bot.digests.providers import DigestProvider as DigestProvider
from bot.digests.providers import ProviderFunc as ProviderFunc
from bot.digests.providers import register as register_provider  # noqa: F401  (re-exported)
from bot.digests.providers import unregister as unregister_provider  # noqa: F401  (re-exported)
from bot.errors import UserError
from bot.i18n import _
from bot.settings import Settings
from storage.tables import (
    Channel,
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

if TYPE_CHECKING:
    from apscheduler.triggers.cron import CronTrigger

log = logging.getLogger(__name__)

# Other capabilities add digest sections through the service (e.g. referrals' open positions):
# `register_provider("positions", lambda: _("Open positions"), func)`; see bot.digests.providers.

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
    from apscheduler.triggers.cron import CronTrigger  # only a digest schedule needs APScheduler

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
    """The digest of one community (see `build_many`)."""
    assert community.id is not None
    return build_many(session, [community], start, end)[community.id]


def _capped(entity: Any, partition: Any, order: tuple[Any, ...], where: Any, limit: int) -> Any:
    """`entity` rows matching `where`, at most `limit` per `partition` in `order` (a window function)."""
    rank = func.row_number().over(partition_by=partition, order_by=order).label("rank")
    sub = sa_select(entity, rank).where(where).subquery()
    return sa_select(aliased(entity, sub)).where(sub.c.rank <= limit).order_by(sub.c[partition.key], sub.c.rank)


def build_many(session: Session, batch: list[Community], start: datetime, end: datetime) -> dict[int, Digest]:
    """Digests of a batch of communities with a fixed number of queries, whatever their sizes:
    lists are capped per community with window functions, figures are grouped aggregates."""
    ids = [c.id for c in batch if c.id is not None]
    by_id = {c.id: c for c in batch if c.id is not None}
    names: dict[int, list[str]] = {i: [] for i in ids}
    rank = func.row_number().over(partition_by=col(Membership.community_id),
                                  order_by=(col(Membership.joined_at), col(Membership.id))).label("rank")
    joined = (sa_select(col(Membership.community_id), col(Person.display_name), rank)
              .join(Person, col(Person.id) == Membership.person_id)
              .where(col(Membership.community_id).in_(ids), col(Membership.joined_at) >= start,
                     col(Membership.joined_at) < end).subquery())
    for cid, name in session.execute(sa_select(joined.c.community_id, joined.c.display_name)
                                     .where(joined.c.rank <= LIST_LIMIT)
                                     .order_by(joined.c.community_id, joined.c.rank)):
        names[cid].append(name)
    member_counts = dict(session.execute(
        sa_select(col(Membership.community_id), func.count())
        .where(col(Membership.community_id).in_(ids), col(Membership.joined_at) >= start,
               col(Membership.joined_at) < end).group_by(col(Membership.community_id))).all())
    resources: dict[int, list[Resource]] = {i: [] for i in ids}
    for r in session.execute(_capped(Resource, Resource.community_id, (col(Resource.shared_at), col(Resource.id)),
                                     and_(col(Resource.community_id).in_(ids), col(Resource.shared_at) >= start,
                                          col(Resource.shared_at) < end), LIST_LIMIT)).scalars():
        resources[r.community_id].append(r)
    consultations: dict[int, list[Consultation]] = {i: [] for i in ids}
    for c in session.execute(_capped(
            Consultation, Consultation.community_id, (col(Consultation.id),),
            and_(col(Consultation.community_id).in_(ids), col(Consultation.created_at) < end,
                 or_(col(Consultation.closed_at).is_(None),
                     and_(col(Consultation.closed_at) >= start, col(Consultation.closed_at) < end))),
            2 * LIST_LIMIT)).scalars():
        consultations[c.community_id].append(c)
    wanted = [c.id for cs in consultations.values() for c in cs]
    options: dict[int, list[ConsultationOption]] = {}
    if wanted:
        for option in session.exec(select(ConsultationOption).where(col(ConsultationOption.consultation_id)
                                                                    .in_(wanted))
                                   .order_by(col(ConsultationOption.consultation_id),
                                             col(ConsultationOption.number))):
            options.setdefault(option.consultation_id, []).append(option)
    ideas: dict[int, list[Idea]] = {i: [] for i in ids}
    for idea in session.execute(_capped(
            Idea, Idea.community_id, (col(Idea.upvotes).desc(), col(Idea.id)),
            and_(col(Idea.community_id).in_(ids),
                 or_(and_(col(Idea.created_at) >= start, col(Idea.created_at) < end),
                     and_(col(Idea.answered_at) >= start, col(Idea.answered_at) < end))),
            2 * LIST_LIMIT)).scalars():
        ideas[idea.community_id].append(idea)
    figures = health_many(session, ids, start, end)
    digests: dict[int, Digest] = {}
    for cid in ids:
        summaries = [ConsultationSummary(c, options.get(c.id or 0, [])) for c in consultations[cid]]
        answered = [i for i in ideas[cid] if i.answered_at is not None and start <= i.answered_at < end]
        digests[cid] = Digest(by_id[cid], start, end, names[cid], int(member_counts.get(cid, 0)), resources[cid],
                              [s for s in summaries if s.consultation.closed_at is None],
                              [s for s in summaries if s.consultation.closed_at is not None],
                              [i for i in ideas[cid] if i not in answered], answered, figures[cid])
    if PROVIDERS:
        topics: dict[int, list[str]] = {i: [] for i in ids}
        for cid, topic in session.execute(sa_select(col(CommunityTopic.community_id), col(CommunityTopic.topic))
                                          .where(col(CommunityTopic.community_id).in_(ids))
                                          .order_by(col(CommunityTopic.topic))):
            topics[cid].append(topic)
        for provider in PROVIDERS.values():
            try:
                found = provider.func(session, topics, start, end)
            except Exception:  # another capability's bug must not stop the digests
                log.exception("digest provider %s failed", provider.key)
                continue
            for cid, lines in found.items():
                if cid in digests and lines:
                    digests[cid].extra.append((provider.key, lines[:LIST_LIMIT]))
    return digests


def health_many(session: Session, ids: list[int], start: datetime, end: datetime) -> dict[int, Health]:
    """Health figures of a batch of communities: grouped aggregates over the activity rows."""
    previous_start = start - (end - start)
    act = CommunityActivity
    counts = {cid: (int(a), int(b)) for cid, a, b in session.execute(sa_select(
        col(act.community_id),
        func.count(distinct(case((col(act.at) >= start, act.person_id)))),
        func.count(distinct(case((col(act.at) < start, act.person_id)))),
    ).where(col(act.community_id).in_(ids), col(act.at) >= previous_start, col(act.at) < end,
            col(act.person_id).is_not(None)).group_by(col(act.community_id)))}
    earlier = aliased(CommunityActivity)
    newcomer = sa_select(col(act.community_id), func.count(distinct(col(act.person_id)))).where(
        col(act.community_id).in_(ids), col(act.at) >= start, col(act.at) < end, col(act.kind) != "joined",
        col(act.person_id).is_not(None),
        ~sa_select(col(earlier.id)).where(col(earlier.community_id) == col(act.community_id),
                                          col(earlier.person_id) == col(act.person_id),
                                          col(earlier.at) < start, col(earlier.kind) != "joined").exists())
    first_time: dict[int, int] = dict(session.execute(newcomer.group_by(col(act.community_id))).all())
    delays: dict[int, list[float]] = {}
    for cid, created, answered in session.execute(sa_select(
            col(Idea.community_id), col(Idea.created_at), col(Idea.answered_at)).where(
            col(Idea.community_id).in_(ids), col(Idea.answered_at) >= start, col(Idea.answered_at) < end)):
        delays.setdefault(cid, []).append((answered - created).total_seconds())
    for cid, closed, decided in session.execute(sa_select(
            col(Consultation.community_id), col(Consultation.closed_at), col(Consultation.decided_at)).where(
            col(Consultation.community_id).in_(ids), col(Consultation.decided_at) >= start,
            col(Consultation.decided_at) < end)):
        if closed is not None:
            delays.setdefault(cid, []).append(max(0.0, (decided - closed).total_seconds()))
    out = {}
    for cid in ids:
        active, before = counts.get(cid, (0, 0))
        values = delays.get(cid)
        out[cid] = Health(active, before, int(first_time.get(cid, 0)),
                          timedelta(seconds=statistics.median(values)) if values else None)
    return out


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
                    col(Community.id).in_(select(CommunityChannel.community_id)))
             .order_by(col(Community.id)))  # replicas claim in the same order: they never deadlock
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


def channels_many(session: Session, ids: list[int]) -> dict[int, list[Channel]]:
    """The linked channels of many communities, in one query."""
    out: dict[int, list[Channel]] = {}
    for cid, channel in session.execute(sa_select(col(CommunityChannel.community_id), Channel)
                                        .join(Channel, col(Channel.id) == CommunityChannel.channel_id)
                                        .where(col(CommunityChannel.community_id).in_(ids))
                                        .order_by(col(Channel.id))):
        out.setdefault(cid, []).append(channel)
    return out


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
