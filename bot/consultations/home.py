"""Consultations on a person's home: the open ones of their communities they have not voted in yet,
with a button per option (an anonymous vote from a home is private: only the person sees the home)."""

from __future__ import annotations

from sqlalchemy import or_
from sqlmodel import Session, col, select

from bot.communities import service as communities
from bot.consultations import service
from bot.home_sections import HomeViewer, listing
from bot.i18n import _, ngettext
from bot.i18n.formats import moment
from bot.messages import Actions, Block, Button, Context, Section
from storage.tables import Consultation, ConsultationVoter


class ToVote:
    """Open consultations of the person's communities they have not voted in, a button per option."""

    key = "consultations"
    order = 20

    def blocks(self, session: Session, viewer: HomeViewer) -> list[Block]:
        memberships = viewer.once("memberships", lambda: communities.memberships_of(session, viewer.person_id))
        mine = {c.id: c for _m, c in memberships}
        if not mine:
            return []
        voted = select(ConsultationVoter.consultation_id).where(ConsultationVoter.person_id == viewer.person_id)
        rows = list(session.exec(
            select(Consultation).where(col(Consultation.community_id).in_(list(mine)),
                                       col(Consultation.closed_at).is_(None),
                                       or_(col(Consultation.closes_at).is_(None),
                                           col(Consultation.closes_at) > viewer.now),
                                       col(Consultation.id).not_in(voted))
            .order_by(col(Consultation.closes_at).is_(None), col(Consultation.closes_at), col(Consultation.id))))

        def item(c: Consultation) -> list[Block]:
            assert c.id is not None
            blocks: list[Block] = [Section(text=_("V{n} in {name}: {question}", n=c.id, name=mine[c.community_id].name,
                                                  question=c.question[:300]))]
            hints = [_("Closes on {when}.", when=moment(c.closes_at))] if c.closes_at else []
            if c.anonymous:
                hints.append(_("Anonymous: nobody can see who voted what, and a vote cannot be changed."))
            if hints:
                blocks.append(Context(" ".join(hints)))
            blocks.append(Actions(tuple(Button(f"{o.number}. {o.label}"[:75], _("vote V{n} {number}", n=c.id,
                                                                                number=o.number))
                                        for o in service.options(session, c.id))))
            return blocks

        return listing(rows, item, more=_("All of them: consult list <community>."),
                       heading=Section(title=ngettext("{n} consultation waits for your vote",
                                                      "{n} consultations wait for your vote", len(rows))))


TO_VOTE = ToVote()
