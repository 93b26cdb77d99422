"""What a position's post in the communities' channels looks like now (live posts, `bot.outbox.live`):
open, with its Nominate button, or closed. It never shows anything about a nomination."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlmodel import Session

from bot.messages import Message
from bot.referrals import messaging
from storage.tables import Position


def position_view(session: Session, key: str, now: datetime) -> Callable[[], Message] | None:
    part = key.split(":", 1)[1] if ":" in key else ""
    position = session.get(Position, int(part)) if part.isdigit() else None
    if position is None:
        return None
    info = messaging.position_info(session, position)
    if position.closed_at is None and (position.closes_at is None or position.closes_at > now):
        return lambda: messaging.announcement(info)
    return lambda: messaging.closed_announcement(info)
