"""The crisis part of a person's own data (`cercle export person`): the announcements they acknowledged
and the questions they asked under their name (an anonymous question is linked to no one, so it is in
no one's export)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from bot.personal_data import iso
from bot.settings import Settings
from storage.tables import CrisisAck, CrisisAnnouncement, CrisisQuestion


def personal_data(session: Session, settings: Settings, person_id: int) -> dict[str, Any]:
    acks = session.exec(select(CrisisAck, CrisisAnnouncement)
                        .join(CrisisAnnouncement, col(CrisisAnnouncement.id) == CrisisAck.announcement_id)
                        .where(CrisisAck.person_id == person_id).order_by(col(CrisisAck.at), col(CrisisAck.id)))
    questions = session.exec(select(CrisisQuestion).where(CrisisQuestion.asker_id == person_id)
                             .order_by(col(CrisisQuestion.id)))
    return {"crisis_acknowledgements": [{"crisis": f"C{a.crisis_id}", "announcement": a.number, "at": iso(ack.at)}
                                        for ack, a in acks],
            "crisis_questions": [{"code": f"Q{q.id}", "crisis": f"C{q.crisis_id}", "text": q.text,
                                  "asked_at": iso(q.asked_at), "answered": q.answer is not None}
                                 for q in questions]}
