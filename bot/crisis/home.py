"""The crises on a person's home: announcements to acknowledge (everyone), and for communicators, each
open crisis's reach and acknowledgement progress."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, col, select

from bot.crisis import messaging, service
from bot.crisis.live import progress_bar
from bot.home_sections import ITEM_LIMIT, HomeViewer
from bot.i18n import _, ngettext
from bot.i18n.formats import moment
from bot.messages import Actions, Block, Button, Context, Section
from storage.tables import Crisis, CrisisAck, CrisisAnnouncement, CrisisAudience, CrisisCommunicator


def _latest(session: Session, crisis_ids: list[int]) -> dict[int, CrisisAnnouncement]:
    """The latest announcement of each crisis (one query)."""
    if not crisis_ids:
        return {}
    latest = (select(CrisisAnnouncement.crisis_id, func.max(CrisisAnnouncement.number).label("n"))
              .where(col(CrisisAnnouncement.crisis_id).in_(crisis_ids))
              .group_by(col(CrisisAnnouncement.crisis_id)).subquery())
    rows = session.exec(select(CrisisAnnouncement).join(
        latest, (col(CrisisAnnouncement.crisis_id) == latest.c.crisis_id)
        & (col(CrisisAnnouncement.number) == latest.c.n)))
    return {row.crisis_id: row for row in rows}


class ToAcknowledge:
    """Open crises whose latest announcement the person (in the audience) has not acknowledged."""

    key = "crises to acknowledge"
    order = 10

    def blocks(self, session: Session, viewer: HomeViewer) -> list[Block]:
        crises = list(session.exec(
            select(Crisis).join(CrisisAudience, col(CrisisAudience.crisis_id) == Crisis.id)
            .where(CrisisAudience.person_id == viewer.person_id, Crisis.status == service.OPEN)
            .order_by(col(Crisis.id))))
        latest = _latest(session, [c.id for c in crises if c.id is not None])
        acked = set(session.exec(select(CrisisAck.announcement_id).where(
            CrisisAck.person_id == viewer.person_id,
            col(CrisisAck.announcement_id).in_([a.id for a in latest.values()]))))
        waiting = [(c, latest[c.id]) for c in crises if c.id in latest and latest[c.id].id not in acked]
        if not waiting:
            return []
        blocks: list[Block] = [Section(title=ngettext("{n} crisis announcement to acknowledge",
                                                      "{n} crisis announcements to acknowledge", len(waiting)))]
        for crisis, row in waiting[:ITEM_LIMIT]:
            blocks.append(Section(text=_("C{id} {title}: {text}", id=crisis.id, title=crisis.title,
                                         text=row.text[:300])))
            blocks.append(Context(_("Announced on {when}.", when=moment(row.at))))
            blocks.append(Actions((Button(_("Acknowledge"), messaging.ack_command(crisis), style="primary",
                                          reaction=messaging.ACK_REACTION),)))
        if len(waiting) > ITEM_LIMIT:
            blocks.append(Context(_("All of them: crisis list.")))
        return blocks


class Progress:
    """For the communicators of open crises: how many people each announcement reached, and acknowledged."""

    key = "crisis progress"
    order = 80

    def blocks(self, session: Session, viewer: HomeViewer) -> list[Block]:
        crises = list(session.exec(
            select(Crisis).join(CrisisCommunicator, col(CrisisCommunicator.crisis_id) == Crisis.id)
            .where(CrisisCommunicator.person_id == viewer.person_id, Crisis.status == service.OPEN)
            .order_by(col(Crisis.id)).limit(ITEM_LIMIT)))
        if not crises:
            return []
        latest = _latest(session, [c.id for c in crises if c.id is not None])
        lines = []
        for crisis in crises:
            assert crisis.id is not None
            audience = service.audience_ids(session, crisis.id)
            row = latest.get(crisis.id)
            if row is None:
                lines.append(_("C{id} {title}: not announced yet ({people})", id=crisis.id, title=crisis.title,
                               people=ngettext("{n} person", "{n} people", len(audience))))
                continue
            latest_figures = service.figures(session, crisis)[-1]
            posted = latest_figures.counts.get("sent", 0)
            lines.append(_("C{id} {title}: posted in {posted}/{channels} channels; {bar} acknowledged",
                           id=crisis.id, title=crisis.title, posted=posted,
                           channels=len(latest_figures.deliveries),
                           bar=f"{progress_bar(latest_figures.acked, latest_figures.audience)} "
                               f"{latest_figures.acked}/{latest_figures.audience}"))
        return [Section(title=_("Crises you speak for"), lines=tuple(lines)),
                Context(_("Details: crisis status <C-code>."))]


TO_ACKNOWLEDGE = ToAcknowledge()
PROGRESS = Progress()
