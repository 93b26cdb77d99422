"""What an announcement's posts look like now (live posts, `bot.outbox.live`): its acknowledgements so far,
as a bar and a count of the audience; once the crisis is closed, that it is closed (no more buttons)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from sqlmodel import Session, col, func, select

from bot import identity
from bot.crisis import messaging
from bot.crisis.service import CLOSED
from bot.i18n import _
from bot.i18n.formats import percent
from bot.messages import Actions, Block, Context, Message
from storage.tables import Crisis, CrisisAck, CrisisAnnouncement, CrisisAudience

BAR_CELLS = 10


def progress_bar(done: int, total: int, cells: int = BAR_CELLS) -> str:
    """"▰▰▰▱▱▱▱▱▱▱": a share as a bar every platform shows as text (never full before everyone is in)."""
    filled = 0 if total <= 0 else min(cells, (done * cells) // total)
    return "▰" * filled + "▱" * (cells - filled)


def _parse(key: str) -> tuple[int, int] | None:
    parts = key.split(":")
    if len(parts) != 4 or parts[2] != "ann" or not (parts[1].isdigit() and parts[3].isdigit()):
        return None
    return int(parts[1]), int(parts[3])


def announcement_view(session: Session, key: str, now: datetime) -> Callable[[], Message] | None:
    parsed = _parse(key)
    crisis = session.get(Crisis, parsed[0]) if parsed else None
    row = session.exec(select(CrisisAnnouncement).where(CrisisAnnouncement.crisis_id == parsed[0],
                                                        CrisisAnnouncement.number == parsed[1])).first() \
        if parsed and crisis else None
    if crisis is None or row is None:
        return None
    audience = int(session.exec(select(func.count()).select_from(CrisisAudience)
                                .where(CrisisAudience.crisis_id == crisis.id)).one())
    acked = int(session.exec(select(func.count()).select_from(CrisisAck).join(
        CrisisAudience, (col(CrisisAudience.person_id) == col(CrisisAck.person_id))
        & (col(CrisisAudience.crisis_id) == crisis.id)).where(CrisisAck.announcement_id == row.id)).one())
    author = identity.display_name(session, row.author_id)
    closed = crisis.status == CLOSED

    def build() -> Message:
        base = messaging.announcement(crisis, row, author)
        share = percent(100 * acked / audience if audience else 0)
        count = Context(_("{bar} Acknowledged by {n} of {total} ({share})", bar=progress_bar(acked, audience),
                          n=acked, total=audience, share=share))
        kept: list[Block] = [b for b in base.blocks if not (closed and isinstance(b, Actions))]
        kept.append(count)
        if closed:
            kept.append(Context(_("This crisis is closed.")))
        return replace(base, blocks=tuple(kept))

    return build
