"""The referrals' section of digests: open positions whose skills match the community's topics.

Two queries for a whole batch of communities (their topics, through the communities service, and the
matching positions). Only public facts of a position are shown (code, title, site, team); nothing about
nominations.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlmodel import Session, col, select

from bot.communities import service as communities
from bot.digest_sections import LIST_LIMIT, DigestBatch, DigestPart
from bot.i18n import _
from bot.messages import Block, Field, Section
from bot.referrals.service import position_code
from storage.tables import Position, PositionSkill


@dataclass(frozen=True)
class OpenPositions:
    positions: tuple[Position, ...]

    @property
    def has_news(self) -> bool:
        return bool(self.positions)

    def blocks(self) -> list[Block]:
        return [Section(title=_("Open positions matching this community"),
                        lines=tuple(_line(p) for p in self.positions[:LIST_LIMIT]))]

    def figures(self) -> list[Field]:
        return []


def _line(position: Position) -> str:
    where = f"{position.site}, {position.team}" if position.team else position.site
    return _("{code} — {title} ({where}): nominate someone with nominate {code} @person \"why\"",
             code=position_code(position.id), title=position.title, where=where)


class PositionsSection:
    key = "positions"
    order = 30

    def gather(self, session: Session, batch: DigestBatch) -> Mapping[int, DigestPart]:
        topics_by_community = communities.topics_many(session, batch.community_ids)
        wanted = {topic for topics in topics_by_community.values() for topic in topics}
        if not wanted:
            return {}
        end = batch.end
        rows = session.exec(select(Position, PositionSkill.skill)
                            .join(PositionSkill, col(PositionSkill.position_id) == Position.id)
                            .where(col(PositionSkill.skill).in_(wanted), col(Position.opened_at) < end,
                                   col(Position.closed_at).is_(None) | (col(Position.closed_at) >= end),
                                   col(Position.closes_at).is_(None) | (col(Position.closes_at) >= end))
                            .order_by(col(Position.id)))
        skills_of: dict[int, set[str]] = {}
        positions: dict[int, Position] = {}
        for position, skill in rows:
            assert position.id is not None
            positions[position.id] = position
            skills_of.setdefault(position.id, set()).add(skill)
        found: dict[int, DigestPart] = {}
        for community_id, topics in topics_by_community.items():
            matching = tuple(p for pid, p in positions.items() if skills_of[pid] & set(topics))
            if matching:
                found[community_id] = OpenPositions(matching)
        return found


SECTION = PositionsSection()
