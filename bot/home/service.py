"""The home as one message: every capability's section for one person, in their language and zone.

Built the same way for every platform: the console and Matrix show it as text, Slack publishes it in
its Home tab. Its buttons run commands as the person (acknowledge, vote, consent, move), so they go
through the same permissions and once-only handling as typed commands.
"""

from __future__ import annotations

import logging

from sqlmodel import Session

from bot.capability import Assembly
from bot.home_sections import HomeViewer
from bot.i18n import _
from bot.messages import Block, Context, Message, Section

log = logging.getLogger(__name__)


def home_message(session: Session, assembly: Assembly, viewer: HomeViewer, name: str) -> Message:
    """The person's home: the sections of `assembly` in order, or a line saying nothing is waiting."""
    blocks: list[Block] = [Section(title=_("Hello {name}, here is what is waiting for you", name=name))]
    shown = 0
    for section in assembly.home_sections:
        part = section.blocks(session, viewer)
        if part:
            shown += 1
            blocks.extend(part)
    if not shown:
        blocks.append(Section(text=_("Nothing is waiting for you. Join a community: community list.")))
    blocks.append(Context(_("Type home to see this again; help lists every command.")))
    return Message(summary=_("Your home: what is waiting for you"), blocks=tuple(blocks))
