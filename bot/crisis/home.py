"""The crises on a person's home: announcements to acknowledge (everyone), and for communicators, each
open crisis's reach and acknowledgement progress."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, col, select

from bot.crisis import messaging, service
from bot.crisis.live import progress_bar
from bot.home_sections import ITEM_LIMIT, HomeViewer, lines_listing, listing
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


def _open_crises(session: Session, via: type[CrisisAudience] | type[CrisisCommunicator], person_id: int,
                 limit: int | None = None) -> list[Crisis]:
    """The open crises the person is in (`via`: their audience, or their communicators), oldest first."""
    return list(session.exec(select(Crisis).join(via, col(via.crisis_id) == Crisis.id)
                             .where(via.person_id == person_id, Crisis.status == service.OPEN)
                             .order_by(col(Crisis.id)).limit(limit)))


class ToAcknowledge:
    """Open crises whose latest announcement the person (in the audience) has not acknowledged."""

    key = "crises to acknowledge"
    order = 10

    def blocks(self, session: Session, viewer: HomeViewer) -> list[Block]:
        crises = _open_crises(session, CrisisAudience, viewer.person_id)
        latest = _latest(session, [c.id for c in crises if c.id is not None])
        acked = set(session.exec(select(CrisisAck.announcement_id).where(
            CrisisAck.person_id == viewer.person_id,
            col(CrisisAck.announcement_id).in_([a.id for a in latest.values()]))))
        waiting = [(c, latest[c.id]) for c in crises if c.id in latest and latest[c.id].id not in acked]
        return listing(waiting, self._item, more=_("All of them: crisis list."),
                       heading=Section(title=ngettext("{n} crisis announcement to acknowledge",
                                                      "{n} crisis announcements to acknowledge", len(waiting))))

    @staticmethod
    def _item(waiting: tuple[Crisis, CrisisAnnouncement]) -> list[Block]:
        crisis, row = waiting
        return [Section(text=_("C{id} {title}: {text}", id=crisis.id, title=crisis.title, text=row.text[:300])),
                Context(_("Announced on {when}.", when=moment(row.at))),
                Actions((Button(_("Acknowledge"), messaging.ack_command(crisis), style="primary",
                                reaction=messaging.ACK_REACTION),))]


class Progress:
    """For the communicators of open crises: how many people each announcement reached, and acknowledged."""

    key = "crisis progress"
    order = 80

    def blocks(self, session: Session, viewer: HomeViewer) -> list[Block]:
        crises = _open_crises(session, CrisisCommunicator, viewer.person_id, limit=ITEM_LIMIT)
        latest = _latest(session, [c.id for c in crises if c.id is not None])
        return lines_listing(_("Crises you speak for"), crises,
                             lambda crisis: self._line(session, crisis, latest.get(crisis.id or 0)),
                             note=_("Details: crisis status <C-code>."))

    @staticmethod
    def _line(session: Session, crisis: Crisis, row: CrisisAnnouncement | None) -> str:
        assert crisis.id is not None
        if row is None:
            audience = service.audience_ids(session, crisis.id)
            return _("C{id} {title}: not announced yet ({people})", id=crisis.id, title=crisis.title,
                     people=ngettext("{n} person", "{n} people", len(audience)))
        latest_figures = service.figures(session, crisis)[-1]
        posted = latest_figures.counts.get("sent", 0)
        return _("C{id} {title}: posted in {posted}/{channels} channels; {bar} acknowledged",
                 id=crisis.id, title=crisis.title, posted=posted, channels=len(latest_figures.deliveries),
                 bar=f"{progress_bar(latest_figures.acked, latest_figures.audience)} "
                     f"{latest_figures.acked}/{latest_figures.audience}")


TO_ACKNOWLEDGE = ToAcknowledge()
PROGRESS = Progress()
