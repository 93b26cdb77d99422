"""The `home` command: the person's home as a private reply (on Slack, the Home tab shows the same)."""

from __future__ import annotations

from bot.commands.context import Ctx
from bot.commands.registry import command
from bot.home import service
from bot.home_sections import HomeViewer
from bot.i18n import N_
from bot.messages import Reply


@command("home", usage=N_("home"), summary=N_("What is waiting for you: crises, votes, consents, nominations."))
def home(ctx: Ctx) -> Reply:
    viewer = HomeViewer(person_id=ctx.person_id, settings=ctx.settings, now=ctx.now())
    return Reply(service.home_message(ctx.session, ctx.assembly, viewer, ctx.person.display_name))
