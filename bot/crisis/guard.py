"""Whether a crisis reminder is still due when the delivery worker is about to send it (`bot.outbox.guard`).

A reminder round is written for everyone who had not read the announcement then; some sends wait for
the platform's pace, or for the person's daytime. If, meanwhile, the crisis was closed or the person
acknowledged the announcement (from another account, a channel button...), the reminder has no reason to
go: it is not sent. Other private crisis messages (to communicators, to a question's asker) always go.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session, col, select

from bot.crisis import service
from bot.outbox.guard import Addressed
from bot.settings import Settings
from storage.tables import Crisis, CrisisAck, CrisisAnnouncement


def _reminder(subject: str) -> tuple[int, int] | None:
    """(crisis id, announcement number) of a reminder's subject ("crisis:3:remind:2"), else None."""
    parts = subject.split(":")
    if len(parts) == 4 and parts[2] == "remind" and parts[1].isdigit() and parts[3].isdigit():
        return int(parts[1]), int(parts[3])
    return None


def still_due(session: Session, settings: Settings, rows: Sequence[Addressed]) -> set[int]:
    """The ids of the reminders among `rows` that must not go: crisis no longer open, or already read."""
    reminders = {r.id: (key, r.person_id) for r in rows if (key := _reminder(r.subject)) is not None}
    if not reminders:
        return set()
    crisis_ids = sorted({key[0] for key, _person in reminders.values()})
    open_ids = set(session.exec(select(Crisis.id).where(col(Crisis.id).in_(crisis_ids),
                                                        Crisis.status == service.OPEN)))
    people = sorted({p for _key, p in reminders.values() if p is not None})
    read: set[tuple[int, int, int]] = set()
    if people:
        read = {(c, n, p) for c, n, p in session.exec(
            select(CrisisAnnouncement.crisis_id, CrisisAnnouncement.number, CrisisAck.person_id)
            .join(CrisisAck, col(CrisisAck.announcement_id) == CrisisAnnouncement.id)
            .where(col(CrisisAnnouncement.crisis_id).in_(crisis_ids), col(CrisisAck.person_id).in_(people)))}
    return {row_id for row_id, ((crisis, number), person) in reminders.items()
            if person is None or crisis not in open_ids or (crisis, number, person) in read}
