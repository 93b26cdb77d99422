"""Commands: community create, list, info, members, join, leave, link, unlink, promote, archive, unarchive,
language (whoknows, share and resources are in `resources.py`)."""

from __future__ import annotations

from collections.abc import Callable

from bot.commands.context import Ctx
from bot.commands.grammar import UserRef
from bot.commands.paging import PAGE, page_title, paginate
from bot.commands.registry import CSV, NAME, SLUG, TEXT, USER, Arg, Opt, choice_type, command, normalise_tag
from bot.communities import service
from bot.errors import UserError
from bot.i18n import N_, _, ngettext
from bot.i18n.formats import day, language_name
from bot.messages import Actions, Button, Confirm, Context, Field, Form, FormField, Message, Reply, Section, Visibility
from bot.settings import SUPPORTED_LOCALES
from storage.tables import Community

LANG = choice_type(*SUPPORTED_LOCALES, kind="language", aliases={"english": "en", "anglais": "en", "french": "fr",
                                                                "français": "fr", "francais": "fr"})


def _community_blocks(ctx: Ctx, community: Community) -> tuple:
    assert community.id is not None
    managers = [ctx.name_of(pid) for pid in service.manager_ids(ctx.session, community.id)]
    linked = [c.name or c.channel_id for c in service.channels(ctx.session, community.id)]
    fields = (
        Field(_("Purpose"), community.purpose or _("not stated")),
        Field(_("Topics"), ", ".join(service.topics(ctx.session, community.id)) or _("none")),
        Field(_("Members"), str(service.member_count(ctx.session, community.id))),
        Field(_("Managers"), ", ".join(managers) or _("none")),
        Field(_("Channels"), ", ".join(linked) or _("none linked yet")),
    )
    blocks: list = [Section(title=f"{community.name} ({community.slug})", fields=fields)]
    if community.locale:
        blocks.append(Context(_("Its channels' posts are in {language}.", language=language_name(community.locale))))
    if community.archived_at is not None:
        blocks.append(Context(_("Archived on {date}: read-only.", date=day(community.archived_at))))
        if service.is_manager(ctx.session, community.id, ctx.person_id):
            blocks.append(Actions((Button(_("Unarchive"), _("community unarchive {slug}", slug=community.slug)),)))
    elif not service.is_member(ctx.session, community.id, ctx.person_id):
        blocks.append(Actions((Button(_("Join"), _("community join {slug}", slug=community.slug), style="primary"),)))
    elif service.is_manager(ctx.session, community.id, ctx.person_id):
        blocks.append(Actions((archive_button(community.slug),)))
    return tuple(blocks)


@command("community create", usage=N_('community create <slug> "<name>" [--purpose "<text>"] [--topics a,b]'),
         summary=N_("Create a community; you become its manager."),
         args=[Arg("slug", SLUG, label=N_("slug")), Arg("name", NAME, label=N_("name"))],
         options=[Opt("purpose", TEXT, aliases=("but", "objectif")), Opt("topics", CSV, aliases=("thèmes",))])
def create(ctx: Ctx, slug: str, name: str, purpose: str | None, topics: list[str] | None) -> Reply:
    community = service.create(ctx.session, slug=slug, name=name, purpose=purpose or "", topic_list=topics or [],
                               creator_id=ctx.person_id, now=ctx.now(), reserved=ctx.assembly.registry.reserved_words())
    ctx.audit("community.create", f"community:{community.id}", slug=slug)
    blocks = (Section(text=_("Community {name} ({slug}) created. You are its manager.", name=name, slug=slug)),
              Context(_("Next: link a channel with community link {slug} from that channel, and invite people "
                        "to community join {slug}.", slug=slug)))
    return Reply(Message(summary=_("Community {slug} created.", slug=slug), blocks=blocks))


@command("community list", usage=N_("community list [--topic t]"), summary=N_("List the communities."),
         options=[Opt("topic", TEXT, aliases=("thème",)), PAGE])
def list_communities(ctx: Ctx, topic: str | None, page: int | None) -> Reply:
    wanted = normalise_tag(topic) if topic else None
    rows = service.list_active(ctx.session, wanted)
    if not rows:
        if wanted:
            return Reply.private(_("No community has the topic '{topic}'.", topic=wanted))
        text = _("There is no community yet. Create one: community create <slug> \"<name>\"")
        return Reply(Message(summary=text, blocks=(Section(text=text), Actions((create_button(),)))))
    shown = paginate(rows, page)
    lines = tuple(_("{slug} — {name} ({members})", slug=c.slug, name=c.name,
                    members=ngettext("{n} member", "{n} members", n)) for c, n in shown.items)
    title = page_title(_("Communities with the topic '{topic}'", topic=wanted) if wanted else _("Communities"),
                       shown)
    more = shown.more(lambda n: _("community list --topic {topic} --page {page}", topic=wanted, page=n) if wanted
                      else _("community list --page {page}", page=n))
    hints = " ".join(x for x in (more, _("community info <slug> for details.")) if x)
    return Reply(Message(summary=title, blocks=(Section(title=title, lines=lines), Context(hints),
                                                Actions((create_button(),)))))


def create_button() -> Button:
    """Opens the `community create` form where the platform has forms (a Slack modal)."""
    form = Form(title=_("New community"), submit=_("Create"),
                command=_("community create {slug} {name} --purpose {purpose} --topics {topics}"),
                fields=(FormField("slug", _("Short name (slug)"), placeholder=_("lowercase, like data-science")),
                        FormField("name", _("Name")),
                        FormField("purpose", _("Purpose"), multiline=True, optional=True),
                        FormField("topics", _("Topics, separated by commas"), optional=True)))
    return Button(_("Create a community"), form=form)


@command("community info", usage=N_("community info <slug>"), summary=N_("Purpose, topics, members, managers."),
         args=[Arg("slug", SLUG, label=N_("slug"))])
def info(ctx: Ctx, slug: str) -> Reply:
    community = service.get(ctx.session, slug, include_archived=True)
    return Reply(Message(summary=community.name, blocks=_community_blocks(ctx, community)))


@command("community members", usage=N_("community members <slug>"), summary=N_("Who is in a community."),
         args=[Arg("slug", SLUG, label=N_("slug"))], options=[PAGE])
def members(ctx: Ctx, slug: str, page: int | None) -> Reply:
    community = service.get(ctx.session, slug, include_archived=True)
    assert community.id is not None
    shown = paginate(service.members(ctx.session, community.id), page)
    lines = tuple(_member_line(p.display_name, m.is_manager, p.site) for p, m in shown.items)
    title = page_title(_("Members of {name}: {n}", name=community.name, n=shown.total), shown)
    blocks: list = [Section(title=title, lines=lines)]
    more = shown.more(lambda n: _("community members {slug} --page {page}", slug=community.slug, page=n))
    if more:
        blocks.append(Context(more))
    return Reply(Message(summary=title, blocks=tuple(blocks)))


def _member_line(name: str, manager: bool, site: str | None) -> str:
    line = _("{name} — manager", name=name) if manager else name
    return f"{line} ({site})" if site else line


@command("community join", usage=N_("community join <slug>"), summary=N_("Join a community."),
         args=[Arg("slug", SLUG, label=N_("slug"))])
def join(ctx: Ctx, slug: str) -> Reply:
    community = service.get_active(ctx.session, slug)
    if not service.join(ctx.session, community, ctx.person_id, ctx.now()):
        return Reply.private(_("You are already a member of {name}.", name=community.name))
    ctx.audit("community.join", f"community:{community.id}")
    return Reply.private(_("Welcome to {name}! Its purpose: {purpose}", name=community.name,
                           purpose=community.purpose or _("not stated")))


@command("community leave", usage=N_("community leave <slug>"), summary=N_("Leave a community."),
         args=[Arg("slug", SLUG, label=N_("slug"))])
def leave(ctx: Ctx, slug: str) -> Reply:
    community = service.get(ctx.session, slug, include_archived=True)
    service.leave(ctx.session, community, ctx.person_id)
    ctx.audit("community.leave", f"community:{community.id}")
    return Reply.private(_("You have left {name}.", name=community.name))


@command("community link", usage=N_("community link <slug>"),
         summary=N_("Managers: link the current channel to the community (announcements, digests)."),
         args=[Arg("slug", SLUG, label=N_("slug"))])
def link(ctx: Ctx, slug: str) -> Reply:
    community = service.get_active(ctx.session, slug)
    service.require_manager(ctx.session, ctx.settings, community, ctx.person_id)
    if ctx.in_direct:
        raise UserError(_("Run this in the channel to link, not in a private conversation."))
    if not service.link(ctx.session, community, ctx.channel):
        return Reply.private(_("This channel is already linked to {name}.", name=community.name))
    ctx.audit("community.link", f"community:{community.id}", channel=ctx.channel.id)
    return Reply(Message.text(_("This channel is now linked to the community {name}: its announcements and "
                                "digests will be posted here.", name=community.name)), Visibility.PUBLIC)


@command("community unlink", usage=N_("community unlink <slug>"),
         summary=N_("Managers: unlink the current channel from the community."),
         args=[Arg("slug", SLUG, label=N_("slug"))])
def unlink(ctx: Ctx, slug: str) -> Reply:
    community = service.get(ctx.session, slug, include_archived=True)
    service.require_manager(ctx.session, ctx.settings, community, ctx.person_id)
    if not service.unlink(ctx.session, community, ctx.channel):
        raise UserError(_("This channel is not linked to {name}.", name=community.name))
    ctx.audit("community.unlink", f"community:{community.id}", channel=ctx.channel.id)
    return Reply.public(_("This channel is no longer linked to the community {name}.", name=community.name))


@command("community promote", usage=N_("community promote <slug> @user"),
         summary=N_("Managers: make a member a manager too."),
         args=[Arg("slug", SLUG, label=N_("slug")), Arg("user", USER, label=N_("person"))])
def promote(ctx: Ctx, slug: str, user: UserRef) -> Reply:
    community = service.get_active(ctx.session, slug)
    service.require_manager(ctx.session, ctx.settings, community, ctx.person_id)
    person = ctx.person_of(user)
    assert person.id is not None
    if not service.promote(ctx.session, community, person.id):
        return Reply.private(_("{name} is already a manager of {community}.", name=person.display_name,
                               community=community.name))
    ctx.audit("community.promote", f"community:{community.id}", person=person.id)
    ctx.tell_person(person.id, lambda: Message.text(_("{who} made you a manager of the community {name}.",
                                                        who=ctx.person.display_name, name=community.name)),
                    subject=f"community:{community.id}")
    return Reply.private(_("{name} is now a manager of {community}.", name=person.display_name,
                           community=community.name))


@command("community archive", usage=N_("community archive <slug>"),
         summary=N_("Managers: archive the community (read-only from then on)."),
         args=[Arg("slug", SLUG, label=N_("slug"))])
def archive(ctx: Ctx, slug: str) -> Reply:
    community = service.get_active(ctx.session, slug)
    service.require_manager(ctx.session, ctx.settings, community, ctx.person_id)
    assert community.id is not None
    service.archive(ctx.session, community, ctx.now())
    ctx.audit("community.archive", f"community:{community.id}")
    who = ctx.person.display_name
    for channel in service.channels(ctx.session, community.id):
        ctx.post_to_channel(channel, lambda: Message.text(_("The community {name} has been archived by {who}. "
                                                            "Thank you all.", name=community.name, who=who)),
                            subject=f"community:{community.id}")
    _tell_managers(ctx, community, lambda: Message.text(_(
        "{who} archived the community {name}, which you manage: it is read-only now. To bring it back: "
        "community unarchive {slug}", who=who, name=community.name, slug=community.slug)))
    return Reply.private(_("The community {name} is archived.", name=community.name))


def _tell_managers(ctx: Ctx, community: Community, build: Callable[[], Message]) -> None:
    """Tell the community's managers, in private, what someone else did to it."""
    assert community.id is not None
    for manager in service.manager_ids(ctx.session, community.id):
        if manager != ctx.person_id:
            ctx.tell_person(manager, build, subject=f"community:{community.id}")


@command("community unarchive", usage=N_("community unarchive <slug>"),
         summary=N_("Managers: bring an archived community back (writable again)."),
         args=[Arg("slug", SLUG, label=N_("slug"))])
def unarchive(ctx: Ctx, slug: str) -> Reply:
    community = service.get(ctx.session, slug, include_archived=True)
    service.require_manager(ctx.session, ctx.settings, community, ctx.person_id)
    assert community.id is not None
    service.unarchive(ctx.session, community)
    ctx.audit("community.unarchive", f"community:{community.id}")
    who = ctx.person.display_name
    for channel in service.channels(ctx.session, community.id):
        ctx.post_to_channel(channel, lambda: Message.text(_("The community {name} is active again, thanks to {who}.",
                                                            name=community.name, who=who)),
                            subject=f"community:{community.id}")
    _tell_managers(ctx, community, lambda: Message.text(_(
        "{who} brought the community {name}, which you manage, back from the archive.", who=who,
        name=community.name)))
    return Reply.private(_("The community {name} is active again.", name=community.name))


@command("community language", usage=N_("community language <slug> en|fr"),
         summary=N_("Managers: the language of the community's posts in its channels."),
         args=[Arg("slug", SLUG, label=N_("slug")), Arg("language", LANG, label=N_("language"))])
def language(ctx: Ctx, slug: str, language: str) -> Reply:
    community = service.get_active(ctx.session, slug)
    service.require_manager(ctx.session, ctx.settings, community, ctx.person_id)
    before = community.locale
    linked = service.set_locale(ctx.session, community, language)
    ctx.audit("community.language", f"community:{community.id}", before=before, after=language)
    return Reply.private(ngettext("{name} now posts in {language} in its {n} channel; people still get private "
                                  "messages in their own language.",
                                  "{name} now posts in {language} in its {n} channels; people still get private "
                                  "messages in their own language.", len(linked), name=community.name,
                                  language=language_name(language)))


def archive_button(slug: str) -> Button:
    """A destructive button, with its confirmation dialog."""
    return Button(_("Archive"), _("community archive {slug}", slug=slug), style="danger",
                  confirm=Confirm(_("Archive {slug}?", slug=slug),
                                  _("The community becomes read-only for everyone."), _("Archive"), _("Cancel")))
