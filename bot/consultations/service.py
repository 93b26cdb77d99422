"""Consultation and idea rules. Votes of anonymous consultations are kept as counters only.

An anonymous vote cannot be changed: changing it would need a link from the person to the ballot,
which is exactly what anonymity forbids (a salted hash whose salt the database holds is such a
link). Named votes can be changed until closing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import case, func, update
from sqlmodel import Session, col, select

from bot.communities import service as communities
from bot.errors import Forbidden, NotFound, UserError
from bot.i18n import _, ngettext
from bot.i18n.formats import percent
from storage.db import affected
from storage.tables import Consultation, ConsultationOption, ConsultationVoter, Idea, IdeaUpvote

if TYPE_CHECKING:
    from storage.tables import Community  # a row the communities service returns

MIN_OPTIONS, MAX_OPTIONS = 2, 10
IDEA_STATUSES = ("accepted", "under-study", "declined")


@dataclass(frozen=True)
class Tally:
    consultation: Consultation
    community: Community
    options: list[ConsultationOption]

    @property
    def total(self) -> int:
        return sum(o.votes for o in self.options)


# -- consultations ---------------------------------------------------------------------------------
def get(session: Session, number: int) -> tuple[Consultation, Community]:
    consultation = session.get(Consultation, number)
    if consultation is None:
        raise NotFound(_("There is no consultation V{n}.", n=number))
    community = communities.by_id(session, consultation.community_id)
    assert community is not None
    return consultation, community


def options(session: Session, consultation_id: int) -> list[ConsultationOption]:
    return list(session.exec(select(ConsultationOption).where(ConsultationOption.consultation_id == consultation_id)
                             .order_by(col(ConsultationOption.number))))


def tally(session: Session, consultation: Consultation, community: Community) -> Tally:
    assert consultation.id is not None
    return Tally(consultation, community, options(session, consultation.id))


def is_open(consultation: Consultation, now: datetime) -> bool:
    if consultation.closed_at is not None:
        return False
    return consultation.closes_at is None or consultation.closes_at > now


def consultations_of(session: Session, community_id: int, now: datetime) -> list[tuple[Consultation, int]]:
    """A community's consultations with their number of votes: open ones first (oldest first), then the
    closed ones, latest first."""
    totals = dict(session.exec(select(ConsultationOption.consultation_id, func.sum(ConsultationOption.votes))
                               .join(Consultation, col(Consultation.id) == ConsultationOption.consultation_id)
                               .where(Consultation.community_id == community_id)
                               .group_by(col(ConsultationOption.consultation_id))).all())
    rows = list(session.exec(select(Consultation).where(Consultation.community_id == community_id)))
    opened = sorted((c for c in rows if is_open(c, now)), key=lambda c: c.id or 0)
    closed = sorted((c for c in rows if not is_open(c, now)), key=lambda c: -(c.id or 0))
    return [(c, int(totals.get(c.id or 0, 0) or 0)) for c in (*opened, *closed)]


def open_consultation(session: Session, community: Community, person_id: int, question: str, labels: list[str],
                      closes_at: datetime | None, anonymous: bool, hidden: bool, now: datetime) -> Consultation:
    if len(question) > 1000:
        raise UserError(_("A question is at most 1000 characters long."))
    if not MIN_OPTIONS <= len(labels) <= MAX_OPTIONS:
        raise UserError(_("Give between {min} and {max} options, each between double quotes.",
                          min=MIN_OPTIONS, max=MAX_OPTIONS))
    if any(len(label) > 300 for label in labels):
        raise UserError(_("An option is at most 300 characters long."))
    if len({label.casefold() for label in labels}) != len(labels):
        raise UserError(_("Two options are the same: each option must be different."))
    assert community.id is not None
    consultation = Consultation(community_id=community.id, question=question, anonymous=anonymous, hidden=hidden,
                                created_by=person_id, created_at=now, closes_at=closes_at)
    session.add(consultation)
    session.flush()
    assert consultation.id is not None
    for number, label in enumerate(labels, start=1):
        session.add(ConsultationOption(consultation_id=consultation.id, number=number, label=label))
    communities.record_activity(session, community.id, person_id, "consulted", now)
    session.flush()
    return consultation


def vote(session: Session, consultation: Consultation, community: Community, person_id: int, number: int,
         now: datetime) -> tuple[ConsultationOption, bool]:
    """Record a vote; returns the option and whether it replaced an earlier vote."""
    assert consultation.id is not None and community.id is not None
    if not is_open(consultation, now):
        raise UserError(_("The consultation V{n} is closed: votes are no longer accepted.", n=consultation.id))
    communities.require_member(session, community, person_id)
    chosen = next((o for o in options(session, consultation.id) if o.number == number), None)
    if chosen is None:
        raise UserError(_("V{n} has no option {number}: choose a number between 1 and {max}.", n=consultation.id,
                          number=number, max=len(options(session, consultation.id))))
    voter = session.exec(select(ConsultationVoter).where(ConsultationVoter.consultation_id == consultation.id,
                                                         ConsultationVoter.person_id == person_id)).first()
    previous: int | None = None
    if voter is not None:
        if consultation.anonymous:
            raise UserError(_("You have already voted in V{n}. Anonymous votes are final: nothing links your "
                              "vote to you, so it cannot be changed.", n=consultation.id))
        if voter.option_id == chosen.id:
            raise UserError(_("You have already voted for option {number} in V{n}.", number=number,
                              n=consultation.id))
        previous = voter.option_id
        voter.option_id = chosen.id
    else:
        session.add(ConsultationVoter(consultation_id=consultation.id, person_id=person_id,
                                      option_id=None if consultation.anonymous else chosen.id))
    # Every option row is rewritten, not just the chosen one: on PostgreSQL each row version carries the
    # id of the transaction that wrote it (xmin), which would otherwise tie the chosen option to the voter.
    delta = case((col(ConsultationOption.id) == chosen.id, 1), (col(ConsultationOption.id) == previous, -1),
                 else_=0)
    session.execute(update(ConsultationOption).where(col(ConsultationOption.consultation_id) == consultation.id)
                    .values(votes=ConsultationOption.votes + delta))
    changed = previous is not None
    if not changed:
        # An anonymous vote counts for the community's figures without a person, and to the hour only.
        communities.record_activity(session, community.id, None if consultation.anonymous else person_id, "voted",
                                    now.replace(minute=0, second=0, microsecond=0) if consultation.anonymous
                                    else now)
    session.flush()
    session.expire_all()
    return chosen, changed


def my_vote(session: Session, consultation: Consultation, person_id: int) -> int | None:
    """The option number a person chose (named consultations only)."""
    voter = session.exec(select(ConsultationVoter).where(ConsultationVoter.consultation_id == consultation.id,
                                                         ConsultationVoter.person_id == person_id)).first()
    if voter is None or voter.option_id is None:
        return None
    option = session.get(ConsultationOption, voter.option_id)
    return option.number if option else None


def close(session: Session, consultation: Consultation, now: datetime) -> bool:
    """Close once: False when someone (a person or the closing job) closed it first."""
    assert consultation.id is not None
    closed = affected(session, update(Consultation).where(col(Consultation.id) == consultation.id,
                                                          col(Consultation.closed_at).is_(None))
                      .values(closed_at=now))
    session.expire(consultation)
    return bool(closed)


def due_for_closing(session: Session, now: datetime) -> list[int]:
    rows = session.exec(select(Consultation.id).where(col(Consultation.closed_at).is_(None),
                                                      col(Consultation.closes_at).is_not(None),
                                                      col(Consultation.closes_at) <= now))
    return [int(r) for r in rows if r is not None]


def answer(session: Session, consultation: Consultation, community: Community, person_id: int, decision: str,
           now: datetime) -> None:
    assert community.id is not None
    if len(decision) > 3000:
        raise UserError(_("A decision is at most 3000 characters long."))
    if consultation.closed_at is None and is_open(consultation, now):
        raise UserError(_("Close V{n} first (consult close V{n}): the decision follows the vote.",
                          n=consultation.id))
    if consultation.decision is not None:
        raise UserError(_("V{n} already has a decision.", n=consultation.id))
    consultation.decision = decision
    consultation.decided_by = person_id
    consultation.decided_at = now
    communities.record_activity(session, community.id, person_id, "answered", now)
    session.flush()


# -- ideas -----------------------------------------------------------------------------------------
def get_idea(session: Session, number: int) -> tuple[Idea, Community]:
    idea = session.get(Idea, number)
    if idea is None:
        raise NotFound(_("There is no idea I{n}.", n=number))
    community = communities.by_id(session, idea.community_id)
    assert community is not None
    return idea, community


def propose(session: Session, community: Community, person_id: int, text: str, now: datetime) -> Idea:
    assert community.id is not None
    communities.require_member(session, community, person_id)
    if len(text) > 2000:
        raise UserError(_("An idea is at most 2000 characters long."))
    idea = Idea(community_id=community.id, text=text, proposed_by=person_id, created_at=now)
    session.add(idea)
    communities.record_activity(session, community.id, person_id, "proposed", now)
    session.flush()
    return idea


def ideas(session: Session, community_id: int) -> list[Idea]:
    """A community's ideas, the most supported first."""
    return list(session.exec(select(Idea).where(Idea.community_id == community_id)
                             .order_by(col(Idea.upvotes).desc(), col(Idea.id))))


def has_upvoted(session: Session, idea: Idea, person_id: int) -> bool:
    return session.exec(select(IdeaUpvote).where(IdeaUpvote.idea_id == idea.id,
                                                 IdeaUpvote.person_id == person_id)).first() is not None


def upvote(session: Session, idea: Idea, community: Community, person_id: int, now: datetime) -> int:
    """Add the person's upvote; returns the new count."""
    assert idea.id is not None and community.id is not None
    communities.require_member(session, community, person_id)
    if idea.proposed_by == person_id:
        raise Forbidden(_("You cannot upvote your own idea."))
    if idea.status == "declined":
        raise UserError(_("The idea I{n} was declined: it no longer takes upvotes.", n=idea.id))
    exists = session.exec(select(IdeaUpvote).where(IdeaUpvote.idea_id == idea.id,
                                                   IdeaUpvote.person_id == person_id)).first()
    if exists is not None:
        raise UserError(_("You have already upvoted I{n}.", n=idea.id))
    session.add(IdeaUpvote(idea_id=idea.id, person_id=person_id))
    session.execute(update(Idea).where(col(Idea.id) == idea.id).values(upvotes=Idea.upvotes + 1))
    communities.record_activity(session, community.id, person_id, "upvoted", now)
    session.flush()
    session.refresh(idea)
    return idea.upvotes


def answer_idea(session: Session, idea: Idea, community: Community, person_id: int, text: str, status: str,
                now: datetime) -> None:
    assert community.id is not None
    if len(text) > 3000:
        raise UserError(_("An answer is at most 3000 characters long."))
    idea.answer = text
    idea.status = status
    idea.answered_by = person_id
    idea.answered_at = now
    communities.record_activity(session, community.id, person_id, "answered", now)
    session.flush()


def merge_persons(session: Session, keep_id: int, drop_id: int) -> None:
    """Two accounts of one person: keep a single vote and a single upvote where both acted."""
    kept = {v.consultation_id for v in session.exec(select(ConsultationVoter)
                                                    .where(ConsultationVoter.person_id == keep_id))}
    for voter in session.exec(select(ConsultationVoter).where(ConsultationVoter.person_id == drop_id)):
        if voter.consultation_id in kept:
            if voter.option_id is not None:
                session.execute(update(ConsultationOption).where(col(ConsultationOption.id) == voter.option_id)
                                .values(votes=ConsultationOption.votes - 1))
            session.delete(voter)
    upvoted = {u.idea_id for u in session.exec(select(IdeaUpvote).where(IdeaUpvote.person_id == keep_id))}
    for up in session.exec(select(IdeaUpvote).where(IdeaUpvote.person_id == drop_id)):
        if up.idea_id in upvoted:
            session.execute(update(Idea).where(col(Idea.id) == up.idea_id).values(upvotes=Idea.upvotes - 1))
            session.delete(up)
    session.flush()


# -- shown by other capabilities (digests) -----------------------------------------------------------
def upvotes(n: int) -> str:
    return ngettext("{n} upvote", "{n} upvotes", n)


def status_label(status: str) -> str:
    # Capitalised: their own catalog entries (referrals translate a lowercase "declined" differently).
    return {"open": _("Open"), "accepted": _("Accepted"), "under-study": _("Under study"),
            "declined": _("Declined")}.get(status, status)


def result_lines(options: list[ConsultationOption]) -> tuple[str, ...]:
    total = sum(o.votes for o in options)
    lines = []
    for o in options:
        votes = ngettext("{n} vote", "{n} votes", o.votes)
        share = percent(100 * o.votes / total if total else 0)
        lines.append(f"{o.number}. {o.label} — {votes} ({share})")
    return tuple(lines)
