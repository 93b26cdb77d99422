"""Commands: position open, list, show, close (HR opens and closes; everyone sees them)."""

from __future__ import annotations

from datetime import datetime

from bot.commands.context import Ctx
from bot.commands.paging import PAGE, page_title, paginate
from bot.commands.registry import CSV, NAME, TEXT, WHEN, Arg, Opt, code_type, command, normalise_tag
from bot.communities.service import channels, communities_with_topics
from bot.errors import UsageError
from bot.i18n import N_, _, ngettext
from bot.i18n.formats import day
from bot.messages import Actions, Context, Field, Message, Reply, Section
from bot.referrals import lists, messaging, service
from bot.referrals.messaging import position_info
from bot.referrals.service import position_code

POSITION = code_type("P")


@command("position open",
         usage=N_('position open "<title>" --site "<site>" [--team "<team>"] [--skills a,b] [--closes <date>] '
                  '[--description "<text>"]'),
         summary=N_("HR: open an internal position; it is announced in the communities of its skills."),
         args=[Arg("title", NAME, label=N_('"<title>"'))],
         options=[Opt("site", NAME), Opt("team", NAME, aliases=("équipe",)),
                  Opt("skills", CSV, aliases=("compétences",)), Opt("closes", WHEN, aliases=("clôture", "ferme")),
                  Opt("description", TEXT)])
def position_open(ctx: Ctx, title: str, site: str | None, team: str | None, skills: list[str] | None,
                  closes: datetime | None, description: str | None) -> Reply:
    service.require_hr(ctx.session, ctx.settings, ctx.person_id)
    if not site:
        raise UsageError(_("Say where the position is with --site \"<site>\"."))
    position = service.open_position(ctx.session, title=title, site=site, team=team or "",
                                     description=description or "", skills=skills or [], closes_at=closes,
                                     opener_id=ctx.person_id, now=ctx.now())
    info = position_info(ctx.session, position)
    ctx.audit("position.open", f"position:{position.id}")
    posted: set[int] = set()
    for community in communities_with_topics(ctx.session, list(info.skills)):
        assert community.id is not None
        for channel in channels(ctx.session, community.id):
            if channel.id in posted:
                continue
            posted.add(channel.id or 0)
            ctx.post_to_channel(channel, lambda: messaging.announcement(info), subject=f"position:{position.id}")
    text = _("Position {code} opened: {title}.", code=info.code, title=info.title)
    where = (ngettext("Announced in {n} community channel.", "Announced in {n} community channels.", len(posted))
             if posted else _("No community has one of its skills as a topic: it was not announced in a channel."))
    return Reply(Message(summary=text, blocks=(Section(text=text, fields=messaging.position_fields(info)),
                                               Context(where))))


@command("position list", usage=N_("position list [--skill s] [--site s] [--all]"),
         summary=N_("The open internal positions (with --all, the closed ones too; HR sees their nominations)."),
         options=[Opt("skill", TEXT, aliases=("compétence",)), Opt("site", TEXT),
                  Opt("all", flag=True, aliases=("tous", "toutes")), PAGE])
def position_list(ctx: Ctx, skill: str | None, site: str | None, all: bool, page: int | None) -> Reply:
    wanted = normalise_tag(skill) if skill else None
    rows = lists.positions(ctx.session, ctx.now(), skill=wanted, site=site, closed_too=all)
    if not rows:
        if wanted or site:
            return Reply.private(_("No position matches.") if all else _("No open position matches."))
        return Reply.private(_("There is no position yet.") if all else _("There is no open position at the moment."))
    shown = paginate(rows, page)
    hr = _figures_here(ctx)
    counts = lists.nomination_counts(ctx.session, [p.id or 0 for p in shown.items]) if hr else {}
    lines = []
    for position in shown.items:
        info = position_info(ctx.session, position)
        extra = [", ".join(info.skills)] if info.skills else []
        if not service.is_open(position, ctx.now()):
            extra.append(_("closed"))
        elif info.closes_at:
            extra.append(_("closes {date}", date=day(info.closes_at)))
        if hr:
            extra.append(messaging.nomination_figures(counts.get(position.id or 0, {})))
        lines.append(info.headline() + (f" ({' — '.join(extra)})" if extra else ""))
    title = page_title(_("Positions") if all else _("Open positions"), shown)
    more = shown.more(lambda n: _("position list --all --page {page}", page=n) if all
                      else _("position list --page {page}", page=n))
    hints = [more] if more else []
    hints.append(_("Details: position show <P-code>. Know someone for one? In private: nominate <P-code> @person "
                   "\"why them\""))
    hints.extend(_figures_elsewhere(ctx))
    return Reply(Message(summary=title, blocks=(Section(title=title, lines=tuple(lines)), Context(" ".join(hints)))))


@command("position show", usage=N_("position show <P-code>"),
         summary=N_("A position; HR also sees how many nominations it has, by state."),
         args=[Arg("position", POSITION, label=N_("<P-code>"))])
def position_show(ctx: Ctx, position: int) -> Reply:
    row = service.get_position(ctx.session, position)
    info = position_info(ctx.session, row)
    if service.is_open(row, ctx.now()):
        state = _("open")
    else:
        state = _("closed on {date}", date=day(row.closed_at or row.closes_at or ctx.now()))
    fields = (Field(_("State"), state), *messaging.position_fields(info))
    blocks: list = [Section(title=info.headline(), fields=fields)]
    blocks.extend(Context(hint) for hint in _figures_elsewhere(ctx))
    if _figures_here(ctx):
        counts = lists.nomination_counts(ctx.session, [position])[position]
        lines = tuple(_("{state}: {n}", state=service.state_label(s), n=counts[s]) for s in service.STATES
                      if counts.get(s))
        blocks.append(Section(title=_("Nominations (HR): {figures}", figures=messaging.nomination_figures(counts)),
                              lines=lines))
    if service.is_open(row, ctx.now()):
        blocks.append(Actions((messaging.nominate_button(info),)))
    return Reply(Message(summary=info.headline(), blocks=tuple(blocks)))


def _figures_here(ctx: Ctx) -> bool:
    """HR sees nomination figures, only where nobody else reads (`bot.places`)."""
    return ctx.in_private and service.is_hr(ctx.session, ctx.settings, ctx.person_id)


def _figures_elsewhere(ctx: Ctx) -> list[str]:
    """For HR in a shared place: where the nomination figures are."""
    if ctx.in_private or not service.is_hr(ctx.session, ctx.settings, ctx.person_id):
        return []
    return [_("Nomination figures are shown to HR only in a private conversation with Cercle.")]


@command("position close", usage=N_("position close <P-code>"), summary=N_("HR: stop taking nominations."),
         args=[Arg("position", POSITION, label=N_("<P-code>"))])
def position_close(ctx: Ctx, position: int) -> Reply:
    service.require_hr(ctx.session, ctx.settings, ctx.person_id)
    row = service.get_position(ctx.session, position)
    service.close_position(ctx.session, row, ctx.now())
    ctx.audit("position.close", f"position:{row.id}")
    ctx.refresh(f"position:{row.id}")  # its posts in the communities' channels show it closed
    return Reply.private(_("Position {code} is closed: it takes no more nominations. Nominations already made "
                           "stay in the queue.", code=position_code(row.id)))
