"""The digest message, built in the language of where it is posted: each capability's part in the body,
their figures under "Health"."""

from __future__ import annotations

from bot.digests.service import Digest
from bot.i18n import _
from bot.i18n.formats import day
from bot.messages import Block, Context, Message, Section


def render(d: Digest) -> Message:
    name = d.community.name
    period = f"{day(d.start)} → {day(d.end)}"
    if d.empty:
        text = _("Quiet period in {name} ({period}): nothing new. Share a resource, propose an idea or ask a "
                 "question to get things going.", name=name, period=period)
        return Message.text(text)
    title = _("Digest of {name} — {period}", name=name, period=period)
    blocks: list[Block] = [Section(title=title)]
    for part in d.parts:
        blocks.extend(part.blocks())
    figures = tuple(f for part in d.parts for f in part.figures())
    if figures:
        blocks.append(Section(title=_("Health"), fields=figures))
    blocks.append(Context(_("Digest of {slug}. Managers change its schedule with digest schedule {slug} "
                            "\"<cron>\".", slug=d.community.slug)))
    return Message(summary=title, blocks=tuple(blocks))
