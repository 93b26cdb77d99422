"""Referrals on a person's home: a consent to give (Yes/No), the nominations they made and where they
stand, and for HR the queue with its next moves. Only what `nomination show` would show them."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, col, select

from bot import identity
from bot.home_sections import HomeViewer, lines_listing, listing
from bot.i18n import _, ngettext
from bot.messages import Actions, Block, Button, Section
from bot.referrals import lists, messaging, service
from bot.referrals.messaging import position_info
from bot.referrals.replies import age
from bot.referrals.service import nomination_code
from storage.tables import Nomination, Position


class Consents:
    """Nominations of the person awaiting their consent, with Yes and No."""

    key = "consents"
    order = 30

    def blocks(self, session: Session, viewer: HomeViewer) -> list[Block]:
        _made, about = viewer.once("nominations", lambda: service.own_nominations(session, viewer.person_id))
        waiting = [n for n in about if n.state == service.AWAITING_CONSENT]

        def item(n: Nomination) -> list[Block]:
            info = position_info(session, service.get_position(session, n.position_id))
            return [Section(title=_("{nominator} put you forward for {position}. Do you agree?",
                                    nominator=identity.display_name(session, n.nominator_id),
                                    position=info.headline())),
                    Actions(messaging.consent_buttons(nomination_code(n.id)))]

        return listing(waiting, item, note=_("Details first: nomination show <N-code>. Nobody is told if you say no."))


class Made:
    """The nominations the person made, and their states (as the nominator may see them)."""

    key = "nominations made"
    order = 50

    def blocks(self, session: Session, viewer: HomeViewer) -> list[Block]:
        made, _about = viewer.once("nominations", lambda: service.own_nominations(session, viewer.person_id))
        v = service.Viewer(is_nominator=True, is_nominee=False, is_hr=False)

        def line(n: Nomination) -> str:
            info = position_info(session, service.get_position(session, n.position_id))
            return _("{code} — {name} for {position} — {state} (for {age})", code=nomination_code(n.id),
                     name=identity.display_name(session, n.nominee_id), position=info.headline(),
                     state=service.public_state(n, v), age=age(viewer.now, n.updated_at))

        return lines_listing(_("Your nominations"), made[::-1], line, more=_("All of them: nomination list."))


class Queue:
    """HR's queue: nominations in HR's hands, with the moves each allows."""

    key = "hr queue"
    order = 70

    def blocks(self, session: Session, viewer: HomeViewer) -> list[Block]:
        if not service.is_hr(session, viewer.settings, viewer.person_id):
            return []
        rows, total = lists.hr_queue(session, limit=service.QUEUE_LIMIT)
        # A nomination about an HR person is handled by the other HR people.
        rows = [(p, n) for p, n in rows if n.nominee_id != viewer.person_id]
        actionable = [(p, n) for p, n in rows if n.state in service.HR_MOVES]
        if not rows:
            return [Section(title=_("HR queue"), text=_("No nomination in progress."))]
        in_hand = session.exec(select(func.count()).select_from(Nomination).where(
            col(Nomination.state).in_(service.HR_ACTIVE), Nomination.nominee_id != viewer.person_id)).one()

        def item(row: tuple[Position, Nomination]) -> list[Block]:
            position, n = row
            code = nomination_code(n.id)
            who = identity.display_name(session, n.nominee_id) if service.hr_may_identify(n) \
                else service.hidden_nominee(n)
            return [Section(text=_("{code} — {who} for {position} — {state} (for {age})", code=code, who=who,
                                   position=position_info(session, position).headline(),
                                   state=service.state_label(n.state), age=age(viewer.now, n.updated_at))),
                    Actions(tuple(Button(service.state_label(s), messaging.move_command(code, s),
                                         style="danger" if s == service.REJECTED else "default")
                                  for s in service.HR_MOVES[n.state]))]

        def more(n: int) -> str:  # the rest: not in HR's hands yet (waiting for the nominee), or further down
            return ngettext("{n} more waits for the nominee or is further down: nomination list.",
                            "{n} more wait for the nominee or are further down: nomination list.", n)

        heading = Section(title=_("HR queue"), text=ngettext(
            "{n} nomination waits for you", "{n} nominations wait for you", int(in_hand)))
        return listing(actionable, item, heading=heading, more=more, total=total)


CONSENTS = Consents()
MADE = Made()
QUEUE = Queue()
