"""Commands: crisis list, crisis cancel (seeing the crises, and undoing one declared by mistake)."""

from __future__ import annotations

from bot.commands.context import Ctx
from bot.commands.paging import PAGE, page_title, paginate
from bot.commands.registry import Arg, code_type, command
from bot.crisis import messaging, service
from bot.i18n import N_, _, ngettext
from bot.i18n.formats import day
from bot.messages import Context, Message, Reply, Section

CRISIS = code_type("C")


@command("crisis list", usage=N_("crisis list"),
         summary=N_("The crises you speak for or that were announced to you (admins: all), open ones first."),
         options=[PAGE])
def crisis_list(ctx: Ctx, page: int | None) -> Reply:
    rows = service.visible_crises(ctx.session, ctx.settings, ctx.person_id)
    if not rows:
        return Reply.private(_("No crisis concerns you."))
    shown = paginate(rows, page)
    counts = service.announcement_counts(ctx.session, [c.id or 0 for c in shown.items])
    lines = tuple(_("C{id} — {title} — {state}, {announcements}, declared {date}", id=c.id, title=c.title[:120],
                    state=messaging.state_label(c.status),
                    announcements=ngettext("{n} announcement", "{n} announcements", counts.get(c.id or 0, 0)),
                    date=day(c.declared_at)) for c in shown.items)
    title = page_title(_("Crises"), shown)
    hint = " ".join(x for x in (shown.more(lambda n: _("crisis list --page {page}", page=n)),
                                _("Figures: crisis status <C-code>.")) if x)
    return Reply(Message(summary=title, blocks=(Section(title=title, lines=lines), Context(hint))))


@command("crisis cancel", usage=N_("crisis cancel <C-code>"),
         summary=N_("Communicators: cancel a crisis declared by mistake, before any announcement (nothing is "
                    "posted)."),
         args=[Arg("crisis", CRISIS, label=N_("C-code"))])
def cancel(ctx: Ctx, crisis: int) -> Reply:
    row = service.get_open(ctx.session, crisis)
    service.require_communicator(ctx.session, ctx.settings, row, ctx.person_id)
    service.cancel(ctx.session, row, ctx.now())
    ctx.audit("crisis.cancel", f"crisis:{crisis}")
    who = ctx.person.display_name
    for person_id in service.communicator_ids(ctx.session, crisis):
        if person_id != ctx.person_id:
            ctx.tell_person(person_id, lambda: messaging.cancelled(row, who), subject=service.subject(crisis, "cancel"))
    return Reply.private(_("C{id} is cancelled. Nothing was posted; it stays read-only in crisis list.", id=crisis))
