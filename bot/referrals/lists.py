"""The lists HR and everyone read: HR's queue (a page at a time), positions with or without the closed ones, and
each position's nominations counted by state."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from bot.referrals.service import FINAL, QUEUE_LIMIT, STATES, is_open, open_positions
from storage.tables import Nomination, Position, PositionSkill


def hr_queue(session: Session, limit: int = QUEUE_LIMIT, *, offset: int = 0, finished: bool = False,
             not_about: int | None = None) -> tuple[list[tuple[Position, Nomination]], int]:
    """One page of HR's queue: open nominations (with `finished`, the finished ones too) by position, then
    state in workflow order, and how many there are in all (a chat message cannot hold hundreds). `not_about`:
    the HR person reading it, whose own nominations are the other HR people's to handle."""
    progress = case({state: index for index, state in enumerate(STATES)}, value=col(Nomination.state))
    query = select(Position, Nomination).join(Nomination, col(Nomination.position_id) == Position.id)
    if not finished:
        query = query.where(col(Nomination.state).not_in(FINAL))
    if not_about is not None:
        # As NOT IN over the nominee index: a plain `nominee_id != ?` makes SQLite drop the ordered plan.
        about = select(Nomination.id).where(Nomination.nominee_id == not_about)
        query = query.where(col(Nomination.id).not_in(about))
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(query.order_by(col(Position.id), progress, col(Nomination.id)).offset(offset).limit(limit))
    return list(rows), int(total)


def nomination_counts(session: Session, position_ids: list[int]) -> dict[int, dict[str, int]]:
    """For HR: how many nominations each position has, by state, in one query."""
    out: dict[int, dict[str, int]] = {pid: {} for pid in position_ids}
    if position_ids:
        for pid, state, n in session.execute(select(Nomination.position_id, Nomination.state, func.count())
                                             .where(col(Nomination.position_id).in_(position_ids))
                                             .group_by(col(Nomination.position_id), col(Nomination.state))):
            out[pid][state] = int(n)
    return out


def positions(session: Session, now: datetime, *, skill: str | None = None, site: str | None = None,
              closed_too: bool = False) -> list[Position]:
    """Open positions (with `closed_too`, the closed and expired ones after them, latest first)."""
    if not closed_too:
        return open_positions(session, now, skill=skill, site=site)
    query = select(Position).order_by(col(Position.id))
    if skill:
        query = query.where(col(Position.id).in_(select(PositionSkill.position_id).where(PositionSkill.skill == skill)))
    rows = list(session.exec(query))
    if site:
        wanted = site.strip().casefold()
        rows = [p for p in rows if p.site.casefold() == wanted]
    opened = [p for p in rows if is_open(p, now)]
    return opened + sorted((p for p in rows if not is_open(p, now)), key=lambda p: -(p.id or 0))
