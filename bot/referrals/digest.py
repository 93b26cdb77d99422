"""Open positions in community digests: those whose skills match the community's topics.

Registered with the digests capability through its service, so digests never import referrals.
Only public facts of a position are shown (code, title, site, team); nothing about nominations.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from bot.digests.service import register_provider
from bot.i18n import _
from bot.referrals.service import position_code
from storage.tables import Position, PositionSkill


def open_positions_by_community(session: Session, topics_by_community: dict[int, list[str]], start: datetime,
                                end: datetime) -> dict[int, list[str]]:
    """Two queries for a whole batch of communities."""
    wanted = {topic for topics in topics_by_community.values() for topic in topics}
    if not wanted:
        return {}
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
    found: dict[int, list[str]] = {}
    for community_id, topics in topics_by_community.items():
        lines = [_line(p) for pid, p in positions.items() if skills_of[pid] & set(topics)]
        if lines:
            found[community_id] = lines
    return found


def _line(position: Position) -> str:
    where = f"{position.site}, {position.team}" if position.team else position.site
    return _("{code} — {title} ({where}): nominate someone with nominate {code} @person \"why\"",
             code=position_code(position.id), title=position.title, where=where)


def register() -> None:
    register_provider("positions", lambda: _("Open positions matching this community"),
                      open_positions_by_community)


register()
