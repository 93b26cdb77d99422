"""The consultations' part of a person's own data (`cercle export person`): the consultations they voted
in (with their choice only where the vote was named: an anonymous vote is kept as a counter, not linked
to them), the ideas they proposed and those they supported."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from bot.personal_data import iso
from bot.settings import Settings
from storage.tables import Consultation, ConsultationOption, ConsultationVoter, Idea, IdeaUpvote


def personal_data(session: Session, settings: Settings, person_id: int) -> dict[str, Any]:
    votes = session.exec(select(ConsultationVoter, Consultation)
                         .join(Consultation, col(Consultation.id) == ConsultationVoter.consultation_id)
                         .where(ConsultationVoter.person_id == person_id).order_by(col(Consultation.id)))
    out_votes = []
    for voter, consultation in votes:
        option = session.get(ConsultationOption, voter.option_id) if voter.option_id is not None else None
        out_votes.append({"consultation": f"V{consultation.id}", "question": consultation.question,
                          "anonymous": consultation.anonymous,
                          "choice": f"{option.number}. {option.label}" if option else ""})
    ideas = session.exec(select(Idea).where(Idea.proposed_by == person_id).order_by(col(Idea.id)))
    upvoted = session.exec(select(IdeaUpvote.idea_id).where(IdeaUpvote.person_id == person_id)
                           .order_by(col(IdeaUpvote.idea_id)))
    return {"votes": out_votes,
            "ideas": [{"code": f"I{i.id}", "text": i.text, "status": i.status, "created_at": iso(i.created_at)}
                      for i in ideas],
            "ideas_upvoted": [f"I{idea_id}" for idea_id in upvoted]}
