"""How referral commands answer: always in private, with a reminder of where such commands belong when
typed in a shared place."""

from __future__ import annotations

from datetime import datetime

from bot.commands.context import Ctx
from bot.i18n import _, ngettext
from bot.messages import Block, Context, Message, Reply, Section


def private_hint(ctx: Ctx) -> tuple[Block, ...]:
    """Typed in a shared channel: the reply is private, but say where such commands belong."""
    if ctx.in_direct:
        return ()
    return (Context(_("Only you can see this answer. Nominations are confidential: send these commands to "
                      "Cercle in a private conversation.")),)


def reply(ctx: Ctx, summary: str, *blocks: Block) -> Reply:
    return Reply(Message(summary=summary, blocks=(*blocks, *private_hint(ctx))))


def text_reply(ctx: Ctx, text: str) -> Reply:
    return reply(ctx, text, Section(text=text))


def age(now: datetime, then: datetime) -> str:
    days = max(0, (now - then).days)
    return ngettext("{n} day", "{n} days", days)
