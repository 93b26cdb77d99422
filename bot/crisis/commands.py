"""Commands: crisis declare, announce, ack, ask, questions, answer, status, remind, close."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, col, select

from bot.commands.context import Ctx
from bot.commands.grammar import ChannelRef
from bot.commands.registry import TEXT, WHEN, Arg, Opt, code_type, command
from bot.crisis import jobs, messaging, service
from bot.errors import UsageError, UserError
from bot.i18n import N_, _, ngettext
from bot.i18n.formats import moment, percent
from bot.messages import Context, Field, Message, Reply, Section
from bot.permissions import Role
from storage.tables import Channel

CRISIS = code_type("C")
QUESTION = code_type("Q")
DEFAULT_REMIND_MINUTES = 240
_SPLIT = re.compile(r"[,\s]+")
LIST_LIMIT = 40
DELIVERY_STATES = {"sent": N_("delivered"), "pending": N_("waiting"), "missing": N_("waiting"),
                   "failed": N_("failed")}


def _known(ctx: Ctx, ref: ChannelRef) -> bool:
    return ctx.session.exec(select(Channel).where(Channel.platform == ref.platform, Channel.workspace == ref.workspace,
                                                  Channel.channel_id == ref.channel_id)).first() is not None


def _audience(ctx: Ctx, text: str | None) -> service.AudienceSpec:
    """Read `all`, community slugs and channel references (any platform the bot knows)."""
    spec = service.AudienceSpec()
    items = [x for x in _SPLIT.split(text or "all") if x]
    if not items:
        raise UsageError(_("Name the audience: all, community slugs or channels, separated by commas."))
    for item in items:
        if item.lower() in ("all", "tous", "tout"):
            spec.everyone = True
            continue
        if not item.startswith(ctx.platforms.channel_marks()):
            spec.slugs.append(item.lower())
            continue
        ref = ctx.read_channel(item)
        if ref is not None and ctx.platform is not None and (ctx.platform.channel_refs_are_ids or _known(ctx, ref)):
            spec.channels.append(ctx.channel_of(ref))  # a platform-checked id: the bot may not have seen it yet
            continue
        # A channel of another platform: one the bot knows, by id (`!room:server`) or name (`#name`).
        known = ctx.session.exec(select(Channel).where(or_(col(Channel.channel_id) == item, col(Channel.name) == item))
                                 .order_by(col(Channel.id))).first()
        if known is None:
            raise UserError(_("The channel {channel} is unknown to Cercle: invite the bot there first.",
                              channel=item[:80]))
        spec.channels.append(known)
    return spec


def _communicators(ctx: Ctx, text: str | None) -> list[int]:
    ids: list[int] = []
    for item in [x for x in _SPLIT.split(text or "") if x]:
        ref = ctx.read_user(item)
        if ref is None:
            raise UsageError(_("'{value}' is not a mention of a person.", value=item[:60]))
        person = ctx.person_of(ref)
        ids.append(person.id or 0)
    return ids


def _remind_minutes(ctx: Ctx, when: datetime | None) -> int:
    if when is None:
        return DEFAULT_REMIND_MINUTES
    minutes = round((when - ctx.now()).total_seconds() / 60)
    if minutes < 10 or minutes > 7 * 24 * 60:
        raise UserError(_("The reminder delay must be between 10 minutes and 7 days, like 4h."))
    return minutes


@command("crisis declare",
         usage=N_('crisis declare "<title>" [--audience all|<slug>,<slug>|#channel,...] [--communicators @a,@b] '
                  '[--remind-after 4h]'),
         summary=N_("Admins and communicators: declare a crisis and who it reaches (nothing is sent yet)."),
         args=[Arg("title", TEXT, label=N_("title"))],
         options=[Opt("audience", TEXT, aliases=("public",)), Opt("communicators", TEXT, aliases=("communicants",)),
                  Opt("remind-after", WHEN, aliases=("relance", "relancer-après"))])
def declare(ctx: Ctx, title: str, audience: str | None, communicators: str | None,
            remind_after: datetime | None) -> Reply:
    ctx.require_role(Role.COMMUNICATOR)
    spec = _audience(ctx, audience)
    resolved = service.resolve(ctx.session, spec)
    crisis = service.declare(ctx.session, title=title, audience_text=audience or "all", audience=resolved,
                             communicators=_communicators(ctx, communicators), declared_by=ctx.person_id,
                             now=ctx.now(), remind_after_minutes=_remind_minutes(ctx, remind_after))
    ctx.audit("crisis.declare", f"crisis:{crisis.id}", channels=len(resolved.channels),
              people=len(resolved.person_ids))
    platforms = [ctx.platforms.display_name(p) for p in ctx.platforms.in_order(c.platform for c in resolved.channels)]
    people = ngettext("{n} person", "{n} people", len(resolved.person_ids))
    chans = ngettext("{n} channel", "{n} channels", len(resolved.channels))
    text = _("Crisis C{id} “{title}” declared. Its announcements will reach {people} in {channels} on "
             "{platforms}. Nothing has been sent yet.", id=crisis.id, title=title, people=people, channels=chans,
             platforms=messaging.platforms_phrase(platforms))
    named = service.communicator_ids(ctx.session, crisis.id or 0)
    declarer, crisis_title = ctx.person.display_name, title
    for person_id in named:
        if person_id != ctx.person_id:
            ctx.tell_person(person_id, lambda: messaging.named_communicator(crisis, crisis_title, declarer),
                            subject=service.subject(crisis.id or 0, "communicator"))
    names = ", ".join(ctx.name_of(p) for p in named)
    return Reply(Message(summary=text, blocks=(
        Section(text=text, fields=(Field(_("Communicators"), names),)),
        Context(_('Next: crisis announce C{id} "<text>"', id=crisis.id)))))


@command("crisis announce", usage=N_('crisis announce <C-code> "<text>" [--everyone]'),
         summary=N_("Communicators: send an announcement (or an update) to every channel of the crisis "
                    "(--everyone: notify every member of the channels, where the platform can)."),
         args=[Arg("crisis", CRISIS, label=N_("C-code")), Arg("text", TEXT, label=N_("text"))],
         options=[Opt("everyone", flag=True, aliases=("tout-le-monde",))])
def announce(ctx: Ctx, crisis: int, text: str, everyone: bool = False) -> Reply:
    row = service.get_open(ctx.session, crisis)
    service.require_communicator(ctx.session, ctx.settings, row, ctx.person_id)
    announcement = service.announce(ctx.session, row, text, ctx.person_id, ctx.now())
    channels = service.channels(ctx.session, crisis)
    author = ctx.person.display_name
    for channel in channels:
        ctx.post_to_channel(channel, lambda: messaging.announcement(row, announcement, author, everyone=everyone),
                            subject=service.subject(crisis, "ann", announcement.number),
                            dedupe_key=service.subject(crisis, "ann", announcement.number, "ch", channel.id))
    ctx.audit("crisis.announce", f"crisis:{crisis}", number=announcement.number)
    what = _("Announcement") if announcement.number == 1 else _("Update {n}", n=announcement.number - 1)
    return Reply.private(_("{what} of C{id} queued for {channels}. Follow it with crisis status C{id}.", what=what,
                           id=crisis, channels=ngettext("{n} channel", "{n} channels", len(channels))))


@command("crisis ack", usage=N_("crisis ack <C-code>"),
         summary=N_("Acknowledge that you have read the announcements of a crisis."),
         args=[Arg("crisis", CRISIS, label=N_("C-code"))])
def ack(ctx: Ctx, crisis: int) -> Reply:
    service.get_concerned(ctx.session, ctx.settings, crisis, ctx.person_id)  # others: as for an unknown code
    row = service.get_open(ctx.session, crisis)
    if service.latest_announcement(ctx.session, crisis) is None:
        raise UserError(_("C{id} has no announcement to acknowledge yet.", id=crisis))
    service.require_audience(ctx.session, ctx.settings, row, ctx.person_id)
    if service.acknowledge(ctx.session, row, ctx.person_id, ctx.now()) == 0:
        return Reply.private(_("You had already acknowledged C{id}. Thank you.", id=crisis))
    ctx.audit("crisis.ack", f"crisis:{crisis}")
    for announcement in service.announcements(ctx.session, crisis):  # their posts show the new count
        ctx.refresh(messaging.live_key(crisis, announcement.number))
    return Reply.private(_("Thank you: your acknowledgement of C{id} is recorded.", id=crisis))


@command("crisis ask", usage=N_('crisis ask <C-code> "<question>" [--anonymous]'),
         summary=N_("Ask the communicators a question; with --anonymous (typed in private) nobody can know it was "
                    "you."),
         args=[Arg("crisis", CRISIS, label=N_("C-code")), Arg("question", TEXT, label=N_("question"))],
         options=[Opt("anonymous", flag=True, aliases=("anonyme",))])
def ask(ctx: Ctx, crisis: int, question: str, anonymous: bool) -> Reply:
    if anonymous:  # before anything is looked up: nothing is answered where others read
        ctx.require_private(_("Everyone here can see who typed this, so your question would not be anonymous: "
                              "it was not sent."))
    service.get_concerned(ctx.session, ctx.settings, crisis, ctx.person_id)  # others: as for an unknown code
    row = service.get_open(ctx.session, crisis)
    stored = service.ask(ctx.session, row, question, None if anonymous else ctx.person_id, ctx.now())
    if anonymous:
        # No actor, the time only to the hour, no id order: nothing ties this record to the asker.
        ctx.audit_anonymously("crisis.ask", f"crisis:{crisis}")
        return Reply.private(_("Your anonymous question Q{qid} is with the communicators of C{id}. Nobody, not "
                               "even they, can know it was you; so Cercle cannot tell you when it is answered. "
                               "Keep the code Q{qid}: the answer will be posted in the crisis channels under it.",
                               qid=stored.id, id=crisis), traceable=False)
    ctx.audit("crisis.ask", f"crisis:{crisis}", question=stored.id)
    return Reply.private(_("Your question Q{qid} is with the communicators of C{id}. Its answer will be posted in "
                           "the crisis channels, and you will be told in private.", qid=stored.id, id=crisis))


def is_anonymous_ask(session: Session, arguments: dict[str, Any]) -> bool:
    """`crisis ask ... --anonymous` (Capability.anonymous)."""
    return bool(arguments.get("anonymous"))


@command("crisis questions", usage=N_("crisis questions <C-code>"),
         summary=N_("Communicators: the questions asked, unanswered first."),
         args=[Arg("crisis", CRISIS, label=N_("C-code"))])
def list_questions(ctx: Ctx, crisis: int) -> Reply:
    row = service.get(ctx.session, crisis)
    service.require_communicator(ctx.session, ctx.settings, row, ctx.person_id)
    rows = sorted(service.questions(ctx.session, crisis), key=lambda q: (q.answer is not None, q.id or 0))
    if not rows:
        return Reply.private(_("No question about C{id} yet.", id=crisis))
    lines = []
    for q in rows[:LIST_LIMIT]:
        who = _("anonymous") if q.anonymous else ctx.name_of(q.asker_id)
        state = _("answered") if q.answer is not None else _("to answer")
        lines.append(_("Q{qid} [{state}] ({who}): {text}", qid=q.id, state=state, who=who, text=q.text[:200]))
    title = _("Questions about C{id}: {n}", id=crisis, n=len(rows))
    return Reply(Message(summary=title, blocks=(Section(title=title, lines=tuple(lines)),
                                                Context(_('Answer in public: crisis answer <Q-code> "<text>"')))))


@command("crisis answer", usage=N_('crisis answer <Q-code> "<text>" [--edit]'),
         summary=N_("Communicators: answer a question, in public in every channel of the crisis (--edit: "
                    "correct the answer)."),
         args=[Arg("question", QUESTION, label=N_("Q-code")), Arg("text", TEXT, label=N_("text"))],
         options=[Opt("edit", flag=True, aliases=("corriger", "modifier"))])
def answer(ctx: Ctx, question: int, text: str, edit: bool) -> Reply:
    q = service.get_question(ctx.session, question)
    row = service.get_open(ctx.session, q.crisis_id)
    service.require_communicator(ctx.session, ctx.settings, row, ctx.person_id)
    if edit:  # a correction: posted again, marked as such (each correction once per channel)
        service.edit_answer(ctx.session, q, text, ctx.person_id, ctx.now())
    else:
        service.answer(ctx.session, q, text, ctx.person_id, ctx.now())
    who = ctx.person.display_name
    for channel in service.channels(ctx.session, row.id or 0):
        ctx.post_to_channel(channel, lambda: messaging.answer(row, q, who, corrected=edit),
                            subject=service.subject(row.id or 0, "q", question),
                            dedupe_key=None if edit else service.subject(row.id or 0, "q", question, "ch", channel.id))
    if q.asker_id is not None:
        ctx.tell_person(q.asker_id, lambda: messaging.answered_notice(row, q, corrected=edit),
                        subject=service.subject(row.id or 0, "q", question, "asker"))
    ctx.audit("crisis.answer.edit" if edit else "crisis.answer", f"crisis:{row.id}", question=question)
    if edit:
        return Reply.private(_("The corrected answer to Q{qid} is posted in every channel of C{id}.", qid=question,
                               id=row.id))
    return Reply.private(_("The answer to Q{qid} is posted in every channel of C{id}.", qid=question, id=row.id))


@command("crisis status", usage=N_("crisis status <C-code>"),
         summary=N_("Its audience and communicators: reach and acknowledgements of each announcement."),
         args=[Arg("crisis", CRISIS, label=N_("C-code"))])
def status(ctx: Ctx, crisis: int) -> Reply:
    row = service.get_concerned(ctx.session, ctx.settings, crisis, ctx.person_id)  # others: as for an unknown code
    communicator = service.is_communicator(ctx.session, ctx.settings, row, ctx.person_id)
    state = messaging.state_label(row.status)
    title = _("C{id} {title} ({state})", id=crisis, title=row.title, state=state)
    audience = len(service.audience_ids(ctx.session, crisis))
    chans = service.channels(ctx.session, crisis)
    asked, answered = service.question_counts(ctx.session, crisis)
    blocks: list = [Section(title=title, fields=(
        Field(_("Audience"), _("{people} in {channels}", people=ngettext("{n} person", "{n} people", audience),
                               channels=ngettext("{n} channel", "{n} channels", len(chans)))),
        Field(_("Questions"), _("{asked}, {answered}", asked=ngettext("{n} asked", "{n} asked", asked),
                                answered=ngettext("{n} answered", "{n} answered", answered)))))]
    all_figures = service.figures(ctx.session, row)
    if not all_figures:
        blocks.append(Context(_("Nothing announced yet.")))
    for fig in all_figures:
        counts = fig.counts
        name = _("Announcement") if fig.announcement.number == 1 else _("Update {n}",
                                                                          n=fig.announcement.number - 1)
        lines = [_("Channels: {sent}, {pending}, {failed}.",
                   sent=ngettext("{n} delivered", "{n} delivered", counts["sent"]),
                   pending=ngettext("{n} waiting", "{n} waiting", counts["pending"] + counts["missing"]),
                   failed=ngettext("{n} failed", "{n} failed", counts["failed"])),
                 _("Acknowledged by {acked} of {total} ({percent}).", acked=fig.acked, total=fig.audience,
                   percent=percent(fig.percent))]
        lines += [_("{community}: {acked} of {total}", community=c.slug, acked=a, total=t)
                  for c, a, t in fig.by_community]
        not_sent = [d for d in fig.deliveries if d.status != "sent"]
        lines += [_("{channel} ({platform}): {state}", channel=d.channel.name or d.channel.channel_id,
                    platform=d.channel.platform, state=_(DELIVERY_STATES[d.status])) for d in not_sent[:LIST_LIMIT]]
        blocks.append(Section(title=f"{name} — {moment(fig.announcement.at)}", lines=tuple(lines)))
    if communicator and all_figures:
        missing = all_figures[-1].not_acked
        if missing:
            names = [ctx.name_of(p) for p in missing[:LIST_LIMIT]]
            more = len(missing) - len(names)
            text = ", ".join(names) + (" " + ngettext("and {n} more", "and {n} more", more) if more > 0 else "")
            blocks.append(Section(title=_("Not acknowledged yet (communicators only)"), text=text))
    return Reply(Message(summary=title, blocks=tuple(blocks)))


@command("crisis remind", usage=N_("crisis remind <C-code>"),
         summary=N_("Communicators: remind now, in private, those who have not acknowledged the latest "
                    "announcement (one round at a time)."),
         args=[Arg("crisis", CRISIS, label=N_("C-code"))])
def remind(ctx: Ctx, crisis: int) -> Reply:
    row = service.get_open(ctx.session, crisis)
    service.require_communicator(ctx.session, ctx.settings, row, ctx.person_id)
    latest = service.latest_announcement(ctx.session, crisis)
    if latest is None:
        raise UserError(_("C{id} has no announcement yet: there is nothing to remind.", id=crisis))
    result = jobs.start_round(ctx.session, ctx.settings, row, latest, ctx.now())
    if result is None:
        raise UserError(_("A reminder round for C{id} is still open: those who have not read yet get their "
                          "reminder in their daytime. Nothing new was sent.", id=crisis))
    ctx.outbox.wake_after_commit(ctx.session)
    ctx.audit("crisis.remind", f"crisis:{crisis}", reminded=result.sent, waiting=result.waiting)
    return Reply.private(_("Reminders: {sent}, {waiting} for daytime where they are (evenings, nights and "
                           "weekends wait).", sent=ngettext("{n} sent now", "{n} sent now", result.sent),
                           waiting=ngettext("{n} waiting", "{n} waiting", result.waiting)))


@command("crisis close", usage=N_("crisis close <C-code>"),
         summary=N_("Communicators: close the crisis with a message to every channel; it becomes read-only."),
         args=[Arg("crisis", CRISIS, label=N_("C-code"))])
def close(ctx: Ctx, crisis: int) -> Reply:
    row = service.get_open(ctx.session, crisis)
    service.require_communicator(ctx.session, ctx.settings, row, ctx.person_id)
    announced = service.latest_announcement(ctx.session, crisis) is not None
    service.close(ctx.session, row, ctx.now())
    who = ctx.person.display_name
    for channel in service.channels(ctx.session, crisis) if announced else ():  # never announced: nothing to close
        ctx.post_to_channel(channel, lambda: messaging.closing(row, who), subject=service.subject(crisis, "close"),
                            dedupe_key=service.subject(crisis, "close", "ch", channel.id))
    ctx.audit("crisis.close", f"crisis:{crisis}", announced=announced)
    for announcement in service.announcements(ctx.session, crisis):  # their posts show it closed
        ctx.refresh(messaging.live_key(crisis, announcement.number))
    if not announced:
        return Reply.private(_("C{id} is closed. Nothing had been announced, so nothing was posted.", id=crisis))
    return Reply.private(_("C{id} is closed; a closing message goes to its channels. Its figures stay available "
                           "with crisis status C{id}.", id=crisis))

