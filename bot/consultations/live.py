"""What a consultation's and an idea's posts look like now (live posts, `bot.outbox.live`).

A consultation's post shows its tally while it is open, unless it is anonymous or hidden: those never show
a tally before closing (nothing is sent). Once closed, every post shows that it is closed and its final
results, and loses its vote buttons. An idea's post shows its upvotes and, once answered, its status.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from sqlmodel import Session

from bot import identity
from bot.consultations import messaging, service
from bot.i18n import _, ngettext
from bot.messages import Actions, Context, Message, Section
from storage.tables import Consultation, Idea


def _number(key: str) -> int | None:
    part = key.split(":")[1] if key.count(":") == 1 else ""
    return int(part) if part.isdigit() else None


def consultation_view(session: Session, key: str, now: datetime) -> Callable[[], Message] | None:
    number = _number(key)
    if number is None or session.get(Consultation, number) is None:
        return None
    found, community = service.get(session, number)
    still_open = service.is_open(found, now)
    if still_open and (found.anonymous or found.hidden):
        return None  # no tally before it closes: the post stays as it was
    tally = service.tally(session, found, community)
    options = list(tally.options)
    who = identity.display_name(session, found.created_by)

    def build() -> Message:
        base = messaging.opened(found, community, options, who)
        counted = ngettext("{n} vote in all.", "{n} votes in all.", tally.total)
        if still_open:
            blocks = (*base.blocks, Section(title=_("Tally so far"), lines=service.result_lines(options)),
                      Context(counted))
        else:
            closed = _("Closed: voting is over.") if not found.decision else \
                _("Closed. Decision: {decision}", decision=found.decision)
            blocks = (*(b for b in base.blocks if not isinstance(b, Actions)),
                      Section(title=_("Final results"), lines=service.result_lines(options)), Context(counted),
                      Context(closed))
        return replace(base, blocks=blocks, poll=base.poll if still_open else None)  # a closed one is no poll

    return build


def idea_view(session: Session, key: str, now: datetime) -> Callable[[], Message] | None:
    number = _number(key)
    if number is None or session.get(Idea, number) is None:
        return None
    found, community = service.get_idea(session, number)
    who = identity.display_name(session, found.proposed_by)
    count, status = found.upvotes, found.status

    def build() -> Message:
        base = messaging.idea_proposed(found, community, who)
        extra: list[Context] = [Context(service.upvotes(count))]
        if status != "open":
            extra.append(Context(_("Status: {status}", status=service.status_label(status))))
        return replace(base, blocks=(*base.blocks, *extra))

    return build
