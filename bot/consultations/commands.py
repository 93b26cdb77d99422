"""Commands: consult open/list/results/close/answer, vote (ideas are in `ideas.py`)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from bot.commands.context import Ctx
from bot.commands.paging import PAGE, page_title, paginate
from bot.commands.registry import (
    INT,
    SLUG,
    TEXT,
    WHEN,
    Arg,
    Opt,
    code_type,
    command,
)
from bot.communities import service as communities
from bot.consultations import messaging, service, usecases
from bot.errors import UserError
from bot.i18n import N_, _, ngettext
from bot.messages import Context, Message, Reply, Section
from storage.tables import Consultation

if TYPE_CHECKING:
    from storage.tables import Community  # a row the communities service returns

V_CODE = code_type("V")


def writable(community: Community) -> None:
    if community.archived_at is not None:
        raise UserError(_("The community '{slug}' is archived: it is read-only.", slug=community.slug))


# -- consultations ---------------------------------------------------------------------------------
@command("consult open",
         usage=N_('consult open <slug> "<question>" "<option>" "<option>"... [--closes <2d|2026-12-01>] '
                  '[--anonymous] [--hidden]'),
         summary=N_("Managers: ask the members of a community to vote (2 to 10 options)."),
         args=[Arg("slug", SLUG, label=N_("slug")), Arg("question", TEXT, label=N_("question")),
               Arg("options", TEXT, many=True, minimum=2, maximum=10, label=N_("options"))],
         options=[Opt("closes", WHEN, aliases=("clôture", "ferme")), Opt("anonymous", flag=True, aliases=("anonyme",)),
                  Opt("hidden", flag=True, aliases=("masqué", "caché"))])
def consult_open(ctx: Ctx, slug: str, question: str, options: list[str], closes: datetime | None,
                 anonymous: bool, hidden: bool) -> Reply:
    community = communities.get_active(ctx.session, slug)
    communities.require_manager(ctx.session, ctx.settings, community, ctx.person_id)
    assert community.id is not None
    channels = communities.channels(ctx.session, community.id)
    if not channels:
        raise UserError(_("Link a channel to {name} first (community link {slug} in that channel): the "
                          "consultation is posted there.", name=community.name, slug=slug))
    consultation = service.open_consultation(ctx.session, community, ctx.person_id, question, options, closes,
                                             anonymous, hidden, ctx.now())
    assert consultation.id is not None
    ctx.audit("consultation.open", f"consultation:{consultation.id}", community=community.id,
              anonymous=anonymous, hidden=hidden)
    opts = service.options(ctx.session, consultation.id)
    who = ctx.person.display_name
    for channel in channels:
        ctx.post_to_channel(channel, lambda: messaging.opened(consultation, community, opts, who),
                            subject=f"consultation:{consultation.id}")
    return Reply.private(ngettext("Consultation V{code} opened and posted in {n} channel.",
                                  "Consultation V{code} opened and posted in {n} channels.", len(channels),
                                  code=consultation.id))


@command("vote", usage=N_("vote <V-code> <option number>"),
         summary=N_("Vote in a consultation (in an anonymous one, in private)."),
         args=[Arg("code", V_CODE, label=N_("V-code")), Arg("number", INT, label=N_("option number"))],
         group="consult")
def vote(ctx: Ctx, code: int, number: int) -> Reply:
    consultation, community = service.get(ctx.session, code)
    if consultation.anonymous:  # a choice typed where others read it is no secret
        ctx.require_private(_("Everyone here can read your choice, and V{n} is anonymous: your vote was not "
                              "counted.", n=code))
    writable(community)
    option, changed = service.vote(ctx.session, consultation, community, ctx.person_id, number, ctx.now())
    ctx.refresh(f"consultation:{code}")  # its view shows no tally while anonymous or hidden
    if consultation.anonymous:
        ctx.audit_anonymously("consultation.vote", f"consultation:{code}")  # neither the voter nor the choice
        return Reply.private(_("Your anonymous vote in V{n} is counted. Nobody can see what you chose.", n=code),
                             traceable=False)
    ctx.audit("consultation.vote", f"consultation:{code}", option=number, changed=changed)
    if changed:
        return Reply.private(_("Your vote in V{n} is now: {number}. {label}.", n=code, number=number,
                               label=option.label))
    return Reply.private(_("Your vote in V{n} is counted: {number}. {label}. You may change it until it "
                           "closes.", n=code, number=number, label=option.label))


def is_secret_vote(session: Session, arguments: dict[str, Any]) -> bool:
    """A vote in an anonymous consultation (Capability.anonymous)."""
    consultation = session.get(Consultation, arguments.get("code"))
    return consultation is not None and consultation.anonymous


@command("consult results", usage=N_("consult results <V-code>"),
         summary=N_("The results of a consultation (live, unless hidden or anonymous: then when it closes)."),
         args=[Arg("code", V_CODE, label=N_("V-code"))])
def consult_results(ctx: Ctx, code: int) -> Reply:
    consultation, community = service.get(ctx.session, code)
    tally = service.tally(ctx.session, consultation, community)
    still_open = service.is_open(consultation, ctx.now())
    if still_open and (consultation.hidden or consultation.anonymous):
        # Anonymous: a live tally would tell each member what the others chose (a vote moves it by one).
        text = _("The results of V{n} are shown when it closes.", n=code) + " " + \
            ngettext("{n} vote so far.", "{n} votes so far.", tally.total)
        return Reply.private(text)
    message = messaging.results(tally, final=not still_open)
    mine = None if consultation.anonymous else service.my_vote(ctx.session, consultation, ctx.person_id)
    if mine is not None:
        message = Message(message.summary, (*message.blocks, Context(_("Your vote: {number}.", number=mine))))
    return Reply(message)


@command("consult close", usage=N_("consult close <V-code>"),
         summary=N_("Managers: close a consultation now and post its results."),
         args=[Arg("code", V_CODE, label=N_("V-code"))])
def consult_close(ctx: Ctx, code: int) -> Reply:
    _consultation, community = service.get(ctx.session, code)
    communities.require_manager(ctx.session, ctx.settings, community, ctx.person_id)
    if not usecases.close_and_post(ctx.outbox, ctx.session, ctx.settings, code, ctx.now()):
        raise UserError(_("V{n} is already closed.", n=code))
    ctx.audit("consultation.close", f"consultation:{code}")
    return Reply.private(_("V{n} is closed; its results are posted in the community's channels. Give your "
                           "decision with consult answer V{n} \"<decision>\".", n=code))


@command("consult answer", usage=N_('consult answer <V-code> "<decision>"'),
         summary=N_("Managers: give the decision that follows a consultation, in public."),
         args=[Arg("code", V_CODE, label=N_("V-code")), Arg("decision", TEXT, label=N_("decision"))])
def consult_answer(ctx: Ctx, code: int, decision: str) -> Reply:
    consultation, community = service.get(ctx.session, code)
    communities.require_manager(ctx.session, ctx.settings, community, ctx.person_id)
    service.answer(ctx.session, consultation, community, ctx.person_id, decision, ctx.now())
    ctx.audit("consultation.answer", f"consultation:{code}")
    ctx.refresh(f"consultation:{code}")  # a closed post shows the decision
    tally = service.tally(ctx.session, consultation, community)
    who = ctx.person.display_name
    assert community.id is not None
    for channel in communities.channels(ctx.session, community.id):
        ctx.post_to_channel(channel, lambda: messaging.decision(tally, who), subject=f"consultation:{code}",
                            dedupe_key=f"consultation:{code}:decision:{channel.id}")
    return Reply.private(_("Your decision on V{n} is posted in the community's channels.", n=code))


@command("consult list", usage=N_("consult list <slug>"),
         summary=N_("The consultations of a community, open ones first."),
         args=[Arg("slug", SLUG, label=N_("slug"))], options=[PAGE])
def consult_list(ctx: Ctx, slug: str, page: int | None) -> Reply:
    community = communities.get(ctx.session, slug, include_archived=True)
    assert community.id is not None
    rows = service.consultations_of(ctx.session, community.id, ctx.now())
    if not rows:
        return Reply.private(_("No consultation in {name} yet.", name=community.name))
    shown = paginate(rows, page)
    lines = tuple(messaging.consultation_line(c, votes, service.is_open(c, ctx.now())) for c, votes in shown.items)
    title = page_title(_("Consultations of {name}", name=community.name), shown)
    hint = " ".join(x for x in (shown.more(lambda n: _("consult list {slug} --page {page}", slug=slug, page=n)),
                                _("Details: consult results <V-code>.")) if x)
    return Reply(Message(summary=title, blocks=(Section(title=title, lines=lines), Context(hint))))
