"""Communities on a person's home: the ones they belong to, and for the ones they manage, the health
figures of the last 30 days (active members and their trend, as in digests)."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session

from bot.communities import service
from bot.communities.digest import CommunitiesSection
from bot.digest_sections import DigestBatch
from bot.home_sections import HomeViewer, lines_listing
from bot.i18n import _, current_locale
from bot.i18n.typography import colon
from bot.messages import Block, Field, Section
from storage.tables import Community, Membership

HEALTH_PERIOD = timedelta(days=30)
MANAGED_LIMIT = 5
MINE_LIMIT = 20  # a person's communities on their home (a long list; the rest: profile show)


class Mine:
    """The communities the person belongs to (★: one they manage)."""

    key = "communities"
    order = 60

    def blocks(self, session: Session, viewer: HomeViewer) -> list[Block]:
        rows = viewer.once("memberships", lambda: service.memberships_of(session, viewer.person_id))
        return lines_listing(_("Your communities"), rows, self._line, more=_("All of them: profile show."),
                             limit=MINE_LIMIT)

    @staticmethod
    def _line(row: tuple[Membership, Community]) -> str:
        membership, community = row
        return f"{community.name} ({community.slug}){' ★' if membership.is_manager else ''}"


class Health:
    """For the communities the person manages: their figures of the last 30 days."""

    key = "community health"
    order = 90

    def blocks(self, session: Session, viewer: HomeViewer) -> list[Block]:
        managed = [c for m, c in viewer.once("memberships", lambda: service.memberships_of(session, viewer.person_id))
                   if m.is_manager]
        managed = managed[:MANAGED_LIMIT]
        if not managed:
            return []
        ids = tuple(c.id for c in managed if c.id is not None)
        end = viewer.now + timedelta(microseconds=1)  # up to now, what happened this instant included
        parts = CommunitiesSection().gather(session, DigestBatch(ids, end - HEALTH_PERIOD, end))
        fields = []
        for c in managed:
            part = parts.get(c.id or 0)
            figures = part.figures() if part is not None else []
            sep = colon(current_locale())
            value = "\n".join(f"{f.label}{sep}{f.value}" for f in figures) or _("no activity")
            fields.append(Field(c.name, value))
        return [Section(title=_("Health of the communities you manage (30 days)"), fields=tuple(fields))]


MINE = Mine()
HEALTH = Health()
