"""Crisis rules and queries: who may speak, who is reached, who has read, what was asked.

The audience is resolved once, at declaration, and stored: the figures of a crisis then
compare acknowledgements with the people it was meant to reach, even if communities change.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.communities import service as communities
from bot.errors import Forbidden, NotFound, UserError
from bot.i18n import _
from bot.permissions import Role, has_role
from bot.settings import Settings
from storage.tables import (
    Account,
    Channel,
    Crisis,
    CrisisAck,
    CrisisAnnouncement,
    CrisisAudience,
    CrisisChannel,
    CrisisCommunicator,
    CrisisQuestion,
    CrisisReminder,
    OutboxMessage,
)

if TYPE_CHECKING:
    from storage.tables import Community  # a row the communities service returns

MAX_TITLE = 300
MAX_TEXT = 3000
MAX_QUESTION = 2000


@dataclass
class AudienceSpec:
    """What `--audience` named: everything, communities, and/or channels."""

    everyone: bool = False
    slugs: list[str] = field(default_factory=list)
    channels: list[Channel] = field(default_factory=list)


@dataclass(frozen=True)
class Audience:
    channels: list[Channel]
    person_ids: set[int]
    community_ids: list[int]


def code(crisis: Crisis) -> str:
    return f"C{crisis.id}"


def subject(crisis_id: int, *parts: object) -> str:
    """The outbox subject of a crisis message; `crisis status` counts deliveries by it."""
    return ":".join(["crisis", str(crisis_id), *map(str, parts)])


# -- lookups ---------------------------------------------------------------------------------------
def get(session: Session, crisis_id: int) -> Crisis:
    crisis = session.get(Crisis, crisis_id)
    if crisis is None:
        raise NotFound(_("There is no crisis C{id}.", id=crisis_id))
    return crisis


def get_concerned(session: Session, settings: Settings, crisis_id: int, person_id: int) -> Crisis:
    """The crisis, for the people it is addressed to and its communicators; for anyone else it does not
    exist (the same answer as an unknown code: its title, figures and state are not theirs to read)."""
    crisis = get(session, crisis_id)
    if not in_audience(session, crisis_id, person_id) and not is_communicator(session, settings, crisis, person_id):
        raise NotFound(_("There is no crisis C{id}.", id=crisis_id))
    return crisis


OPEN, CLOSED, CANCELLED = "open", "closed", "cancelled"


def get_open(session: Session, crisis_id: int) -> Crisis:
    crisis = get(session, crisis_id)
    if crisis.status == CLOSED:
        raise UserError(_("The crisis C{id} is closed: it is read-only.", id=crisis_id))
    if crisis.status == CANCELLED:
        raise UserError(_("The crisis C{id} was cancelled: it is read-only.", id=crisis_id))
    return crisis


def is_communicator(session: Session, settings: Settings, crisis: Crisis, person_id: int) -> bool:
    """The crisis's communicators, and admins."""
    row = session.exec(select(CrisisCommunicator).where(CrisisCommunicator.crisis_id == crisis.id,
                                                        CrisisCommunicator.person_id == person_id)).first()
    return row is not None or has_role(session, person_id, settings, Role.ADMIN)


def require_communicator(session: Session, settings: Settings, crisis: Crisis, person_id: int) -> None:
    if not is_communicator(session, settings, crisis, person_id):
        raise Forbidden(_("Only the communicators of C{id} may do this.", id=crisis.id))


def require_audience(session: Session, settings: Settings, crisis: Crisis, person_id: int) -> None:
    """Acknowledgements count the people a crisis is addressed to, set when it was declared: refuse the others
    clearly rather than record what no figure would count."""
    if in_audience(session, crisis.id or 0, person_id):
        return
    if is_communicator(session, settings, crisis, person_id):
        raise UserError(_("You speak for C{id}: acknowledgements count the people it is addressed to, not its "
                          "communicators.", id=crisis.id))
    raise UserError(_("You are not among the people C{id} is addressed to (its audience was set when it was "
                      "declared), so there is nothing for you to acknowledge.", id=crisis.id))


def channels(session: Session, crisis_id: int) -> list[Channel]:
    rows = session.exec(select(Channel).join(CrisisChannel, col(CrisisChannel.channel_id) == Channel.id)
                        .where(CrisisChannel.crisis_id == crisis_id).order_by(col(Channel.id)))
    return list(rows)


def audience_ids(session: Session, crisis_id: int) -> set[int]:
    return set(session.exec(select(CrisisAudience.person_id).where(CrisisAudience.crisis_id == crisis_id)))


def in_audience(session: Session, crisis_id: int, person_id: int) -> bool:
    return session.exec(select(CrisisAudience).where(CrisisAudience.crisis_id == crisis_id,
                                                     CrisisAudience.person_id == person_id)).first() is not None


def communicator_ids(session: Session, crisis_id: int) -> list[int]:
    return list(session.exec(select(CrisisCommunicator.person_id).where(CrisisCommunicator.crisis_id == crisis_id)
                             .order_by(col(CrisisCommunicator.id))))


def announcements(session: Session, crisis_id: int) -> list[CrisisAnnouncement]:
    return list(session.exec(select(CrisisAnnouncement).where(CrisisAnnouncement.crisis_id == crisis_id)
                             .order_by(col(CrisisAnnouncement.number))))


def latest_announcement(session: Session, crisis_id: int) -> CrisisAnnouncement | None:
    return session.exec(select(CrisisAnnouncement).where(CrisisAnnouncement.crisis_id == crisis_id)
                        .order_by(col(CrisisAnnouncement.number).desc())).first()


def acked_ids(session: Session, announcement_id: int) -> set[int]:
    return set(session.exec(select(CrisisAck.person_id).where(CrisisAck.announcement_id == announcement_id)))


def community_ids(crisis: Crisis) -> list[int]:
    return [int(x) for x in json.loads(crisis.community_ids or "[]")]


def get_question(session: Session, question_id: int) -> CrisisQuestion:
    question = session.get(CrisisQuestion, question_id)
    if question is None:
        raise NotFound(_("There is no question Q{id}.", id=question_id))
    return question


def questions(session: Session, crisis_id: int) -> list[CrisisQuestion]:
    return list(session.exec(select(CrisisQuestion).where(CrisisQuestion.crisis_id == crisis_id)
                             .order_by(col(CrisisQuestion.id))))


# -- audience --------------------------------------------------------------------------------------
def resolve(session: Session, spec: AudienceSpec) -> Audience:
    """The channels and people an audience reaches, now."""
    found: dict[int, Channel] = {}
    people: set[int] = set()
    community_list: list[int] = []
    if spec.everyone:
        for channel in session.exec(select(Channel).where(col(Channel.direct).is_(False)).order_by(col(Channel.id))):
            found[channel.id or 0] = channel
        people |= set(session.exec(select(Account.person_id).distinct()))
    for slug in spec.slugs:
        community = communities.get_active(session, slug)
        assert community.id is not None
        community_list.append(community.id)
        for channel in communities.channels(session, community.id):
            found[channel.id or 0] = channel
        people |= set(communities.member_ids(session, community.id))
    for channel in spec.channels:
        if channel.direct:
            raise UserError(_("A private conversation cannot be part of a crisis audience."))
        found[channel.id or 0] = channel
        # The people known to read a channel: the members of the communities it is linked to.
        for community in communities.communities_for_channel(session, channel.id or 0):
            people |= set(communities.member_ids(session, community.id or 0))
    return Audience(list(found.values()), people, community_list)


# -- changes ---------------------------------------------------------------------------------------
def declare(session: Session, *, title: str, audience_text: str, audience: Audience, communicators: Iterable[int],
            declared_by: int, now: datetime, remind_after_minutes: int) -> Crisis:
    if len(title) > MAX_TITLE:
        raise UserError(_("A crisis title is at most {n} characters long.", n=MAX_TITLE))
    if not audience.channels:
        raise UserError(_("This audience has no channel to post in. Link channels to the communities first "
                          "(community link), or name channels: --audience #channel."))
    crisis = Crisis(title=title, audience=audience_text[:1000], community_ids=json.dumps(audience.community_ids),
                    remind_after_minutes=remind_after_minutes, declared_by=declared_by, declared_at=now)
    session.add(crisis)
    session.flush()
    assert crisis.id is not None
    for person_id in dict.fromkeys([declared_by, *communicators]):
        session.add(CrisisCommunicator(crisis_id=crisis.id, person_id=person_id))
    for channel in audience.channels:
        session.add(CrisisChannel(crisis_id=crisis.id, channel_id=channel.id or 0))
    session.add_all(CrisisAudience(crisis_id=crisis.id, person_id=p) for p in sorted(audience.person_ids))
    session.flush()
    return crisis


def announce(session: Session, crisis: Crisis, text: str, author_id: int, now: datetime) -> CrisisAnnouncement:
    if len(text) > MAX_TEXT:
        raise UserError(_("An announcement is at most {n} characters long.", n=MAX_TEXT))
    latest = latest_announcement(session, crisis.id or 0)
    row = CrisisAnnouncement(crisis_id=crisis.id or 0, number=(latest.number + 1) if latest else 1, text=text,
                             author_id=author_id, at=now)
    session.add(row)
    session.flush()
    return row


def acknowledge(session: Session, crisis: Crisis, person_id: int, now: datetime) -> int:
    """Acknowledge every announcement published so far; returns how many were new."""
    new = 0
    for announcement in announcements(session, crisis.id or 0):
        if session.exec(select(CrisisAck.id).where(CrisisAck.announcement_id == announcement.id,  # one row, not
                                                   CrisisAck.person_id == person_id)).first() is not None:  # all acks
            continue
        try:
            with session.begin_nested():
                session.add(CrisisAck(announcement_id=announcement.id or 0, person_id=person_id, at=now))
                session.flush()
            new += 1
        except IntegrityError:  # the same person acknowledged from another account at the same moment
            pass
    return new


def ask(session: Session, crisis: Crisis, text: str, asker_id: int | None, now: datetime) -> CrisisQuestion:
    """Store a question. Anonymous (`asker_id` None): no link to the asker, and the time only to the hour."""
    if len(text) > MAX_QUESTION:
        raise UserError(_("A question is at most {n} characters long.", n=MAX_QUESTION))
    question = CrisisQuestion(crisis_id=crisis.id or 0, text=text, anonymous=asker_id is None, asker_id=asker_id,
                              asked_at=now.replace(minute=0, second=0, microsecond=0))
    session.add(question)
    session.flush()
    return question


def answer(session: Session, question: CrisisQuestion, text: str, by: int, now: datetime) -> None:
    if len(text) > MAX_TEXT:
        raise UserError(_("An answer is at most {n} characters long.", n=MAX_TEXT))
    if question.answer is not None:
        raise UserError(_("Q{id} is already answered.", id=question.id))
    question.answer = text
    question.answered_by = by
    question.answered_at = now
    session.add(question)


def edit_answer(session: Session, question: CrisisQuestion, text: str, by: int, now: datetime) -> None:
    """Replace an answer (a correction): the question must have one."""
    if len(text) > MAX_TEXT:
        raise UserError(_("An answer is at most {n} characters long.", n=MAX_TEXT))
    if question.answer is None:
        raise UserError(_("Q{id} has no answer to correct yet: answer it without --edit.", id=question.id))
    if question.answer == text:
        raise UserError(_("This is already the answer to Q{id}.", id=question.id))
    question.answer = text
    question.answered_by = by
    question.answered_at = now
    session.add(question)


def close(session: Session, crisis: Crisis, now: datetime) -> None:
    crisis.status = CLOSED
    crisis.closed_at = now
    session.add(crisis)


def cancel(session: Session, crisis: Crisis, now: datetime) -> None:
    """Cancel a crisis declared by mistake: only before its first announcement (nothing was ever posted)."""
    if latest_announcement(session, crisis.id or 0) is not None:
        raise UserError(_("C{id} has been announced: it cannot be cancelled. Close it instead (crisis close C{id}).",
                          id=crisis.id))
    crisis.status = CANCELLED
    crisis.closed_at = now
    session.add(crisis)


def visible_crises(session: Session, settings: Settings, person_id: int) -> list[Crisis]:
    """The crises a person may list: all for admins; else those they speak for, and the announced ones
    addressed to them. Open ones first, then the others, latest first."""
    rows = list(session.exec(select(Crisis)))
    if not has_role(session, person_id, settings, Role.ADMIN):
        speaking = set(session.exec(select(CrisisCommunicator.crisis_id)
                                    .where(CrisisCommunicator.person_id == person_id)))
        addressed = set(session.exec(select(CrisisAudience.crisis_id).where(CrisisAudience.person_id == person_id)))
        announced = set(session.exec(select(CrisisAnnouncement.crisis_id).distinct()))
        rows = [c for c in rows if c.id in speaking or (c.id in addressed and c.id in announced)]
    return sorted(rows, key=lambda c: (c.status != OPEN, -(c.id or 0) if c.status != OPEN else (c.id or 0)))


def announcement_counts(session: Session, crisis_ids: list[int]) -> dict[int, int]:
    if not crisis_ids:
        return {}
    return {int(cid): int(n) for cid, n in session.exec(
        select(CrisisAnnouncement.crisis_id, func.count()).where(col(CrisisAnnouncement.crisis_id).in_(crisis_ids))
        .group_by(col(CrisisAnnouncement.crisis_id))).all()}


# -- figures ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ChannelDelivery:
    channel: Channel
    status: str  # sent, pending, failed, missing


@dataclass(frozen=True)
class AnnouncementFigures:
    announcement: CrisisAnnouncement
    deliveries: list[ChannelDelivery]
    acked: int
    audience: int
    by_community: list[tuple[Community, int, int]]  # community, acknowledged, members in the audience
    not_acked: list[int]

    @property
    def counts(self) -> Counter[str]:
        return Counter(d.status for d in self.deliveries)

    @property
    def percent(self) -> int:
        return round(100 * self.acked / self.audience) if self.audience else 0


def figures(session: Session, crisis: Crisis) -> list[AnnouncementFigures]:
    """For each announcement: delivery per channel (from the outbox), acknowledgements in the audience."""
    assert crisis.id is not None
    chans = channels(session, crisis.id)
    audience = audience_ids(session, crisis.id)
    communities_of_crisis = [c for c in (communities.by_id(session, cid) for cid in community_ids(crisis)) if c]
    members = {c.id: set(communities.member_ids(session, c.id or 0)) & audience for c in communities_of_crisis}
    out = []
    for announcement in announcements(session, crisis.id):
        rows = session.exec(select(OutboxMessage.platform, OutboxMessage.workspace, OutboxMessage.target_id,
                                   OutboxMessage.status)
                            .where(OutboxMessage.subject == subject(crisis.id, "ann", announcement.number),
                                   OutboxMessage.target_kind == "channel"))
        status = {(p, w, t): s for p, w, t, s in rows}
        deliveries = [ChannelDelivery(c, status.get((c.platform, c.workspace, c.channel_id), "missing"))
                      for c in chans]
        acked = acked_ids(session, announcement.id or 0)
        by_community = [(c, len(acked & members[c.id]), len(members[c.id])) for c in communities_of_crisis]
        out.append(AnnouncementFigures(announcement, deliveries, len(acked & audience), len(audience), by_community,
                                       sorted(audience - acked)))
    return out


def question_counts(session: Session, crisis_id: int) -> tuple[int, int]:
    """(questions asked, questions answered)."""
    total = session.exec(select(func.count()).select_from(CrisisQuestion)
                         .where(CrisisQuestion.crisis_id == crisis_id)).one()
    answered = session.exec(select(func.count()).select_from(CrisisQuestion)
                            .where(CrisisQuestion.crisis_id == crisis_id,
                                   col(CrisisQuestion.answer).is_not(None))).one()
    return int(total), int(answered)


# -- two accounts of one person become one ------------------------------------------------------------
def merge_persons(session: Session, keep_id: int, drop_id: int) -> None:
    """Keep one acknowledgement, audience row, communicator row and reminder per person."""
    for table, key in ((CrisisAck, "announcement_id"), (CrisisAudience, "crisis_id"),
                       (CrisisCommunicator, "crisis_id"), (CrisisReminder, "round_id")):
        kept = {getattr(r, key) for r in session.exec(select(table).where(table.person_id == keep_id))}
        for row in session.exec(select(table).where(table.person_id == drop_id)):
            if getattr(row, key) in kept:
                session.delete(row)
    session.flush()
