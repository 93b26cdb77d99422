"""The communities' section of digests: new members, new resources, and the activity figures.

Five queries for a whole batch of communities, whatever their sizes: lists are capped per community
with window functions, figures are grouped aggregates over the activity rows.

- active members: distinct people with at least one contribution (joined, shared, voted, proposed,
  upvoted, answered...) in the period; anonymous votes are not counted;
- new contributors: people whose first contribution to the community other than joining it falls in
  the period;
- trend: active members compared with the previous period of the same length.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import and_, case, distinct, func
from sqlalchemy import select as sa_select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from bot.digest_sections import LIST_LIMIT, DigestBatch, DigestPart, capped
from bot.i18n import _, ngettext
from bot.i18n.formats import percent
from bot.messages import Block, Field, Section
from storage.tables import CommunityActivity, Membership, Person, Resource


def trend(now: int, before: int) -> str:
    if before == 0:
        return _("new activity") if now else _("no change")
    diff = now - before
    sign = "+" if diff >= 0 else ""
    return _("{sign}{diff} ({sign}{percent}) vs the previous period", sign=sign, diff=diff,
             percent=percent(100 * diff / before))


@dataclass
class CommunityNews:
    """One community's part: who joined, what was shared, how active it was."""

    new_members: list[str] = field(default_factory=list)  # names, at most LIST_LIMIT
    new_member_count: int = 0
    resources: list[Resource] = field(default_factory=list)
    active: int = 0
    previous_active: int = 0
    new_contributors: int = 0

    @property
    def has_news(self) -> bool:
        return bool(self.new_member_count or self.resources or self.active)

    def blocks(self) -> list[Block]:
        blocks: list[Block] = []
        if self.new_member_count:
            more = self.new_member_count - len(self.new_members)
            lines = list(self.new_members) + ([ngettext("and {n} more", "and {n} more", more)] if more > 0 else [])
            blocks.append(Section(title=ngettext("Welcome to {n} new member", "Welcome to {n} new members",
                                                 self.new_member_count), lines=tuple(lines)))
        if self.resources:
            blocks.append(Section(title=_("New resources"),
                                  lines=tuple(f"{r.title} — {r.url}" for r in self.resources)))
        return blocks

    def figures(self) -> list[Field]:
        return [Field(_("Active members"), f"{self.active} — {trend(self.active, self.previous_active)}"),
                Field(_("New contributors"), str(self.new_contributors))]


class CommunitiesSection:
    key = "communities"
    order = 10

    def gather(self, session: Session, batch: DigestBatch) -> Mapping[int, DigestPart]:
        ids, start, end = list(batch.community_ids), batch.start, batch.end
        news = {i: CommunityNews() for i in ids}
        rank = func.row_number().over(partition_by=col(Membership.community_id),
                                      order_by=(col(Membership.joined_at), col(Membership.id))).label("rank")
        joined = (sa_select(col(Membership.community_id), col(Person.display_name), rank)
                  .join(Person, col(Person.id) == Membership.person_id)
                  .where(col(Membership.community_id).in_(ids), col(Membership.joined_at) >= start,
                         col(Membership.joined_at) < end).subquery())
        for cid, name in session.execute(sa_select(joined.c.community_id, joined.c.display_name)
                                         .where(joined.c.rank <= LIST_LIMIT)
                                         .order_by(joined.c.community_id, joined.c.rank)):
            news[cid].new_members.append(name)
        for cid, count in session.execute(
                sa_select(col(Membership.community_id), func.count())
                .where(col(Membership.community_id).in_(ids), col(Membership.joined_at) >= start,
                       col(Membership.joined_at) < end).group_by(col(Membership.community_id))).all():
            news[cid].new_member_count = int(count)
        for r in session.execute(capped(Resource, Resource.community_id, (col(Resource.shared_at), col(Resource.id)),
                                        and_(col(Resource.community_id).in_(ids), col(Resource.shared_at) >= start,
                                             col(Resource.shared_at) < end), LIST_LIMIT)).scalars():
            news[r.community_id].resources.append(r)
        self._activity(session, ids, batch, news)
        return news

    @staticmethod
    def _activity(session: Session, ids: list[int], batch: DigestBatch, news: dict[int, CommunityNews]) -> None:
        """Active members (now and in the previous period) and new contributors: two grouped aggregates."""
        start, end = batch.start, batch.end
        previous_start = start - (end - start)
        act = CommunityActivity
        for cid, active, before in session.execute(sa_select(
                col(act.community_id),
                func.count(distinct(case((col(act.at) >= start, act.person_id)))),
                func.count(distinct(case((col(act.at) < start, act.person_id)))),
        ).where(col(act.community_id).in_(ids), col(act.at) >= previous_start, col(act.at) < end,
                col(act.person_id).is_not(None)).group_by(col(act.community_id))):
            news[cid].active, news[cid].previous_active = int(active), int(before)
        earlier = aliased(CommunityActivity)
        newcomer = sa_select(col(act.community_id), func.count(distinct(col(act.person_id)))).where(
            col(act.community_id).in_(ids), col(act.at) >= start, col(act.at) < end, col(act.kind) != "joined",
            col(act.person_id).is_not(None),
            ~sa_select(col(earlier.id)).where(col(earlier.community_id) == col(act.community_id),
                                              col(earlier.person_id) == col(act.person_id),
                                              col(earlier.at) < start, col(earlier.kind) != "joined").exists())
        for cid, count in session.execute(newcomer.group_by(col(act.community_id))).all():
            news[cid].new_contributors = int(count)


SECTION = CommunitiesSection()
