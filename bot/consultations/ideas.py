"""Commands: idea, idea upvote, idea answer, idea list, idea show."""

from __future__ import annotations

from bot.commands.context import Ctx
from bot.commands.paging import PAGE, page_title, paginate
from bot.commands.registry import SLUG, TEXT, Arg, Opt, choice_type, code_type, command
from bot.communities import service as communities
from bot.consultations import messaging, service
from bot.consultations.commands import writable
from bot.i18n import N_, _, ngettext
from bot.messages import Context, Message, Reply, Section

I_CODE = code_type("I")
STATUS = choice_type(*service.IDEA_STATUSES, kind="idea status", aliases={
    "accepté": "accepted", "à-l'étude": "under-study", "à-l-étude": "under-study", "en-cours": "under-study",
    "à-l’étude": "under-study", "refusé": "declined", "rejetée": "declined"})


@command("idea", usage=N_('idea <slug> "<text>"'), summary=N_("Propose an idea to a community."),
         args=[Arg("slug", SLUG, label=N_("slug")), Arg("text", TEXT, label=N_("text"))], group="consult")
def idea(ctx: Ctx, slug: str, text: str) -> Reply:
    community = communities.get_active(ctx.session, slug)
    proposed = service.propose(ctx.session, community, ctx.person_id, text, ctx.now())
    assert community.id is not None and proposed.id is not None
    ctx.audit("idea.propose", f"idea:{proposed.id}", community=community.id)
    who = ctx.person.display_name
    for channel in communities.channels(ctx.session, community.id):
        ctx.post_to_channel(channel, lambda: messaging.idea_proposed(proposed, community, who),
                            subject=f"idea:{proposed.id}")
    return Reply.private(_("Your idea I{n} is proposed to {name}. Members can upvote it with idea upvote I{n}.",
                           n=proposed.id, name=community.name))


@command("idea upvote", usage=N_("idea upvote <I-code>"), summary=N_("Support an idea (once; not your own)."),
         args=[Arg("code", I_CODE, label=N_("I-code"))], group="consult")
def idea_upvote(ctx: Ctx, code: int) -> Reply:
    found, community = service.get_idea(ctx.session, code)
    writable(community)
    count = service.upvote(ctx.session, found, community, ctx.person_id, ctx.now())
    ctx.audit("idea.upvote", f"idea:{code}")
    ctx.refresh(f"idea:{code}")
    return Reply.private(ngettext("You support I{code}. It has {n} upvote.", "You support I{code}. It has {n} upvotes.",
                                  count, code=code))


@command("idea answer", usage=N_('idea answer <I-code> "<text>" [--status accepted|under-study|declined]'),
         summary=N_("Managers: answer an idea in public, with a status."),
         args=[Arg("code", I_CODE, label=N_("I-code")), Arg("text", TEXT, label=N_("text"))],
         options=[Opt("status", STATUS, aliases=("statut",))], group="consult")
def idea_answer(ctx: Ctx, code: int, text: str, status: str | None) -> Reply:
    found, community = service.get_idea(ctx.session, code)
    writable(community)
    communities.require_manager(ctx.session, ctx.settings, community, ctx.person_id)
    service.answer_idea(ctx.session, found, community, ctx.person_id, text, status or "under-study", ctx.now())
    ctx.audit("idea.answer", f"idea:{code}", status=found.status)
    ctx.refresh(f"idea:{code}")
    who = ctx.person.display_name
    assert community.id is not None
    for channel in communities.channels(ctx.session, community.id):
        ctx.post_to_channel(channel, lambda: messaging.idea_answered(found, community, who), subject=f"idea:{code}")
    if found.proposed_by is not None and found.proposed_by != ctx.person_id:
        ctx.tell_person(found.proposed_by, lambda: messaging.idea_answered_to_author(found, community, who),
                        subject=f"idea:{code}")
    return Reply.private(_("Your answer to I{n} ({status}) is posted in the community's channels.", n=code,
                           status=messaging.status_label(found.status)))


@command("idea list", usage=N_("idea list <slug>"), summary=N_("The ideas of a community, most supported first."),
         args=[Arg("slug", SLUG, label=N_("slug"))], options=[PAGE], group="consult")
def idea_list(ctx: Ctx, slug: str, page: int | None) -> Reply:
    community = communities.get(ctx.session, slug, include_archived=True)
    assert community.id is not None
    rows = service.ideas(ctx.session, community.id)
    if not rows:
        return Reply.private(_("No idea in {name} yet. Propose one: idea {slug} \"<text>\"", name=community.name,
                               slug=slug))
    shown = paginate(rows, page)
    lines = tuple(f"I{i.id} — {i.text} ({service.upvotes(i.upvotes)}, {messaging.status_label(i.status)})"
                  for i in shown.items)
    title = page_title(_("Ideas of {name}", name=community.name), shown)
    hint = " ".join(x for x in (shown.more(lambda n: _("idea list {slug} --page {page}", slug=slug, page=n)),
                                _("Details: idea show <I-code>.")) if x)
    return Reply(Message(summary=title, blocks=(Section(title=title, lines=lines), Context(hint))))


@command("idea show", usage=N_("idea show <I-code>"), summary=N_("An idea, its upvotes and its answer."),
         args=[Arg("code", I_CODE, label=N_("I-code"))], group="consult")
def idea_show(ctx: Ctx, code: int) -> Reply:
    found, community = service.get_idea(ctx.session, code)
    upvoted = service.has_upvoted(ctx.session, found, ctx.person_id)
    member = community.id is not None and communities.is_member(ctx.session, community.id, ctx.person_id)
    may_upvote = (member and not upvoted and found.proposed_by != ctx.person_id and found.status != "declined"
                  and community.archived_at is None)
    return Reply(messaging.idea_detail(found, community, ctx.name_of(found.proposed_by),
                                       ctx.name_of(found.answered_by) if found.answered_by else "", upvoted,
                                       may_upvote))
