"""Referrals on a person's home: a consent to give (Yes/No), the nominations they made and where they
stand, and for HR the queue with its next moves. Only what `nomination show` would show them."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, col, select

from bot import identity
from bot.home_sections import ITEM_LIMIT, HomeViewer
from bot.i18n import _, ngettext
from bot.messages import Actions, Block, Button, Context, Section
from bot.referrals import lists, messaging, service
from bot.referrals.messaging import position_info
from bot.referrals.replies import age
from bot.referrals.service import nomination_code
from storage.tables import Nomination


class Consents:
    """Nominations of the person awaiting their consent, with Yes and No."""

    key = "consents"
    order = 30

    def blocks(self, session: Session, viewer: HomeViewer) -> list[Block]:
        _made, about = viewer.once("nominations", lambda: service.own_nominations(session, viewer.person_id))
        waiting = [n for n in about if n.state == service.AWAITING_CONSENT]
        blocks: list[Block] = []
        for n in waiting[:ITEM_LIMIT]:
            code = nomination_code(n.id)
            info = position_info(session, service.get_position(session, n.position_id))
            blocks.append(Section(title=_("{nominator} put you forward for {position}. Do you agree?",
                                          nominator=identity.display_name(session, n.nominator_id),
                                          position=info.headline())))
            blocks.append(Actions(messaging.consent_buttons(code)))
        if blocks:
            blocks.append(Context(_("Details first: nomination show <N-code>. Nobody is told if you say no.")))
        return blocks


class Made:
    """The nominations the person made, and their states (as the nominator may see them)."""

    key = "nominations made"
    order = 50

    def blocks(self, session: Session, viewer: HomeViewer) -> list[Block]:
        made, _about = viewer.once("nominations", lambda: service.own_nominations(session, viewer.person_id))
        if not made:
            return []
        v = service.Viewer(is_nominator=True, is_nominee=False, is_hr=False)
        lines = []
        for n in reversed(made[-ITEM_LIMIT:]):
            info = position_info(session, service.get_position(session, n.position_id))
            lines.append(_("{code} — {name} for {position} — {state} (for {age})", code=nomination_code(n.id),
                           name=identity.display_name(session, n.nominee_id), position=info.headline(),
                           state=service.public_state(n, v), age=age(viewer.now, n.updated_at)))
        blocks: list[Block] = [Section(title=_("Your nominations"), lines=tuple(lines))]
        if len(made) > ITEM_LIMIT:
            blocks.append(Context(_("All of them: nomination list.")))
        return blocks


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
        waiting = max(0, total - len(actionable[:ITEM_LIMIT]))
        blocks: list[Block] = [Section(title=_("HR queue"), text=ngettext(
            "{n} nomination waits for you", "{n} nominations wait for you", int(in_hand)))]
        for position, n in actionable[:ITEM_LIMIT]:
            code = nomination_code(n.id)
            who = identity.display_name(session, n.nominee_id) if service.hr_may_identify(n) \
                else service.hidden_nominee(n)
            blocks.append(Section(text=_("{code} — {who} for {position} — {state} (for {age})", code=code, who=who,
                                         position=position_info(session, position).headline(),
                                         state=service.state_label(n.state), age=age(viewer.now, n.updated_at))))
            blocks.append(Actions(tuple(
                Button(service.state_label(s), messaging.move_command(code, s),
                       style="danger" if s == service.REJECTED else "default")
                for s in service.HR_MOVES[n.state])))
        if waiting:
            blocks.append(Context(ngettext("{n} more waits for the nominee or is further down: nomination list.",
                                           "{n} more wait for the nominee or are further down: nomination list.",
                                           waiting)))
        return blocks


CONSENTS = Consents()
MADE = Made()
QUEUE = Queue()
