"""Who knows what: people by skill, ranked by their recent activity in communities (`whoknows`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from bot.commands.paging import natural_key
from bot.communities.service import ACTIVITY_WINDOW
from storage.tables import Community, CommunityActivity, Membership, Person, PersonSkill


@dataclass(frozen=True)
class Expert:
    person: Person
    skills: list[str]  # the matching skills
    exact: bool
    activity: int  # contributions to communities over the last 90 days
    communities: list[str]


def who_knows(session: Session, skill: str, now: datetime) -> list[Expert]:
    """People whose skills match: exact match first, then partial; within that, the most active first,
    then by name as people read names (user2 before user10)."""
    rows = list(session.exec(select(PersonSkill).where(col(PersonSkill.skill).contains(skill, autoescape=True))))
    by_person: dict[int, list[str]] = {}
    for row in rows:
        by_person.setdefault(row.person_id, []).append(row.skill)
    if not by_person:
        return []
    ids = list(by_person)
    since = now - ACTIVITY_WINDOW
    activity = dict(session.exec(select(CommunityActivity.person_id, func.count())
                                 .where(col(CommunityActivity.person_id).in_(ids), CommunityActivity.at >= since)
                                 .group_by(col(CommunityActivity.person_id))).all())
    memberships: dict[int, list[str]] = {}
    for slug, pid in session.exec(select(Community.slug, Membership.person_id)
                                  .join(Membership, col(Membership.community_id) == Community.id)
                                  .where(col(Membership.person_id).in_(ids), col(Community.archived_at).is_(None))
                                  .order_by(Community.slug)):
        memberships.setdefault(pid, []).append(slug)
    people = {p.id: p for p in session.exec(select(Person).where(col(Person.id).in_(ids)))}
    experts = [Expert(people[pid], sorted(skills), skill in skills, int(activity.get(pid, 0)),
                      memberships.get(pid, [])) for pid, skills in by_person.items() if pid in people]
    experts.sort(key=lambda e: (not e.exact, -e.activity, natural_key(e.person.display_name), e.person.id or 0))
    return experts
