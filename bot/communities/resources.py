"""Commands: whoknows, share, share remove, resources."""

from __future__ import annotations

import re

from bot.commands.context import Ctx
from bot.commands.paging import PAGE, offset, page_of_total, page_title, paginate
from bot.commands.registry import CSV, SLUG, TEXT, WORD, Arg, Opt, command, normalise_tag
from bot.communities import expertise, library, service
from bot.errors import Forbidden, NotFound, UserError
from bot.forms import Input, form
from bot.i18n import N_, _, ngettext
from bot.messages import Context, Message, Reply, Section

_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)


@command("whoknows", usage=N_("whoknows <skill>"),
         summary=N_("Find people with a skill, the most active in communities first."),
         args=[Arg("skill", TEXT, label=N_("skill"), rest=True)], options=[PAGE])
def whoknows(ctx: Ctx, skill: str, page: int | None) -> Reply:
    wanted = normalise_tag(skill)
    if not wanted:
        raise UserError(_("Name a skill, like whoknows python."))
    experts = expertise.who_knows(ctx.session, wanted, ctx.now())
    if not experts:
        return Reply.private(_("Nobody has listed the skill '{skill}' yet. Add yours with profile skills.",
                               skill=wanted))
    shown = paginate(experts, page, size=10)
    lines = []
    for e in shown.items:
        parts = [e.person.display_name, ", ".join(e.skills)]
        if e.person.site:
            parts.append(e.person.site)
        if e.communities:
            parts.append(_("in {communities}", communities=", ".join(e.communities)))
        parts.append(ngettext("{n} contribution", "{n} contributions", e.activity))
        lines.append(" — ".join(parts))
    title = page_title(_("Who knows {skill}", skill=wanted), shown)
    blocks: list = [Section(title=title, lines=tuple(lines))]
    more = shown.more(lambda n: _("whoknows {skill} --page {page}", skill=wanted, page=n))
    if more:
        blocks.append(Context(more))
    return Reply(Message(summary=title, blocks=tuple(blocks)))


@form(title=N_("Share a resource"), submit=N_("Share"), inputs=[
    Input("slug", N_("Community"), "choice", source=lambda env: service.choices(env.session),
          initial=lambda env: service.slug_of_channel(env.session, env.channel_id)),
    Input("url", N_("Web address")), Input("title", N_("Title")),
    Input("tags", N_("Tags"), option="tags", optional=True, hint=N_("Separated by commas: howto, video"))])
@command("share", usage=N_('share <slug> <url> "<title>" [--tags a,b]'),
         summary=N_("Share a resource with a community."),
         args=[Arg("slug", SLUG, label=N_("slug")), Arg("url", WORD, label=N_("url")),
               Arg("title", TEXT, label=N_("title"))],
         options=[Opt("tags", CSV, aliases=("étiquettes",))], group="whoknows")
def share(ctx: Ctx, slug: str, url: str, title: str, tags: list[str] | None) -> Reply:
    community = service.get_active(ctx.session, slug)
    service.require_member(ctx.session, community, ctx.person_id)
    if not _URL.match(url) or len(url) > 2000:
        raise UserError(_("'{url}' is not a web address starting with http:// or https://.", url=url[:80]))
    if len(title) > 300:
        raise UserError(_("A title is at most 300 characters long."))
    resource = library.share(ctx.session, community, ctx.person_id, url, title, tags or [], ctx.now())
    assert community.id is not None
    ctx.audit("resource.share", f"community:{community.id}", resource=resource.id)
    for channel in service.channels(ctx.session, community.id):
        ctx.post_to_channel(channel, lambda: Message(
            summary=_("New resource in {name}: {title}", name=community.name, title=title),
            blocks=(Section(text=_("{who} shared a resource with {name}:", who=ctx.person.display_name,
                                   name=community.name), lines=(f"{title} — {url}",)),)),
            subject=f"community:{community.id}")
    return Reply.private(_("Shared with {name}: {title}.", name=community.name, title=title))


@command("share remove", usage=N_("share remove <slug> <url>"),
         summary=N_("Remove a resource you shared (managers: any resource of their community)."),
         args=[Arg("slug", SLUG, label=N_("slug")), Arg("url", WORD, label=N_("url"))], group="whoknows")
def share_remove(ctx: Ctx, slug: str, url: str) -> Reply:
    community = service.get(ctx.session, slug, include_archived=True)
    assert community.id is not None
    resource = library.shared_resource(ctx.session, community.id, url)
    if resource is None:
        raise NotFound(_("No resource at {url} in {name}: see resources {slug}.", url=url[:80], name=community.name,
                         slug=community.slug))
    if resource.shared_by != ctx.person_id:
        try:
            service.require_manager(ctx.session, ctx.settings, community, ctx.person_id)
        except Forbidden:
            raise Forbidden(_("Only the person who shared it, or a manager of {slug}, may remove it.",
                              slug=community.slug)) from None
    title = resource.title
    ctx.audit("resource.remove", f"community:{community.id}", resource=resource.id)
    library.remove_resource(ctx.session, resource)
    return Reply.private(_("Removed from the resources of {name}: {title}. What was posted in its channels "
                           "stays there.", name=community.name, title=title))


@command("resources", usage=N_("resources <slug> [--tag t]"), summary=N_("The resources shared in a community."),
         args=[Arg("slug", SLUG, label=N_("slug"))], options=[Opt("tag", TEXT, aliases=("étiquette",)), PAGE],
         group="whoknows")
def resources(ctx: Ctx, slug: str, tag: str | None, page: int | None) -> Reply:
    community = service.get(ctx.session, slug, include_archived=True)
    assert community.id is not None
    wanted = normalise_tag(tag) if tag else None
    rows, total = library.resources(ctx.session, community.id, wanted, offset=offset(page))
    if not total:
        return Reply.private(_("No resource shared in {name} yet.", name=community.name) if not wanted else
                             _("No resource tagged '{tag}' in {name}.", tag=wanted, name=community.name))
    shown = page_of_total(rows, page, total)
    lines = tuple(f"{r.title} — {r.url}" + (f" [{', '.join(tags)}]" if tags else "") for r, tags in shown.items)
    title = page_title(_("Resources of {name}", name=community.name), shown)
    blocks: list = [Section(title=title, lines=lines)]
    more = shown.more(lambda n: _("resources {slug} --page {page}", slug=slug, page=n) if not wanted else
                      _("resources {slug} --tag {tag} --page {page}", slug=slug, tag=wanted, page=n))
    if more:
        blocks.append(Context(more))
    return Reply(Message(summary=title, blocks=tuple(blocks)))
