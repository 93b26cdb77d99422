"""Commands: nominate, nomination (positions are in `positions.py`).

Every reply here is private (the default `Reply` visibility), and nothing about a nomination is
ever posted to a channel: only the position announcement is, and it names no one.
"""

from __future__ import annotations

from bot import permissions
from bot.commands.context import Ctx
from bot.commands.grammar import UserRef
from bot.commands.paging import PAGE, offset, page_of_total
from bot.commands.registry import TEXT, USER, Arg, Opt, choice_type, code_type, command
from bot.errors import about
from bot.forms import FormEnv, Input, form
from bot.i18n import N_, _
from bot.i18n.formats import day
from bot.messages import Actions, Block, Button, Context, Field, Reply, Section
from bot.referrals import guard, lists, messaging, retention, service, support
from bot.referrals.messaging import position_info
from bot.referrals.positions import POSITION
from bot.referrals.replies import age, reply, text_reply
from bot.referrals.service import nomination_code
from storage.tables import Nomination, Position

NOMINATION = code_type("N")
CONSENT = choice_type("yes", "no", kind="answer", aliases={"y": "yes", "n": "no", "o": "yes"})
STATE = choice_type(*service.STATES, kind="nomination state", aliases=service.STATE_ALIASES,
                    refusal=N_("'{value}' is not a nomination state. States: {choices}."))


# -- nominations -----------------------------------------------------------------------------------
def _tell_hr(ctx: Ctx, nomination: Nomination, build: messaging.MessageBuilder, *, named: bool = False) -> None:
    """To the people holding hr now, except the nominee and the caller (`named`: the message names the nominee;
    both are checked again when it is sent, `bot.referrals.guard`). With nobody left (the nominee is the only HR
    person), the nomination waits and the admins are told another HR person is needed."""
    told = [p for p in service.hr_recipients(ctx.session, nomination) if p != ctx.person_id]
    for person_id in told:
        ctx.tell_person(person_id, build, subject=guard.subject(nomination.id, guard.HR_NAMED if named else guard.HR))
    if not told and nomination.state == service.CONSENTED:
        for person_id in permissions.admin_ids(ctx.session, ctx.settings):
            ctx.tell_person(person_id, messaging.hr_needed, subject=guard.HR_NEEDED,
                            dedupe_key=f"referrals:hr-needed:{nomination.id}:{person_id}")


def _positions(env: FormEnv) -> list[tuple[str, str]]:
    return [(service.position_code(p.id), f"{service.position_code(p.id)} {p.title} ({p.site})")
            for p in service.open_positions(env.session, env.now)]


@form(title=N_("Nominate someone"), submit=N_("Nominate"), inputs=[
    Input("position", N_("Position"), "choice", source=_positions), Input("user", N_("Person"), "user"),
    Input("why", N_("Why them?"), "long", hint=N_("Only the person, HR and you will read this."))])
@command("nominate", usage=N_('nominate <P-code> @user "<why>"'),
         summary=N_("In private: put someone forward for a position; they are asked in private first."),
         args=[Arg("position", POSITION, label=N_("<P-code>")), Arg("user", USER, label=N_("@person")),
               Arg("why", TEXT, label=N_('"<why>"'))], group="position")
def nominate(ctx: Ctx, position: int, user: UserRef, why: str) -> Reply:
    row = service.get_position(ctx.session, position)
    with about("why"):
        service.check_argument(why)  # checked again by the service; here a form learns which input it is about
    nominee = ctx.person_of(user)
    assert nominee.id is not None
    nomination, new = support.nominate(ctx.session, position=row, nominator_id=ctx.person_id,
                                       nominee_id=nominee.id, argument=why, now=ctx.now(),
                                       per_day=ctx.settings.nominations_per_day)
    subject = f"nomination:{nomination.id}"
    ctx.audit("nomination.create" if new else "nomination.support", subject, position=row.id)
    info = position_info(ctx.session, row)
    code, nominator, argument = nomination_code(nomination.id), ctx.person.display_name, nomination.argument
    if new:  # a supporter gets the same answer, and the nominee is asked only once
        ctx.tell_person(nominee.id, lambda: messaging.consent_request(code, info, nominator, argument),
                        subject=guard.subject(nomination.id, guard.CONSENT))
    text = _("Thank you! Nomination {code}: we have asked {name}, in private, whether they agree to be put forward "
             "for {position}. You will hear about each step; HR will know who they are only if they agree.",
             code=code, name=nominee.display_name, position=info.headline())
    return text_reply(ctx, text)


def _nomination_line(ctx: Ctx, nomination: Nomination, position: Position, v: service.Viewer, *,
                     role: str) -> str:
    code = nomination_code(nomination.id)
    state = service.public_state(nomination, v)
    since = age(ctx.now(), nomination.updated_at)
    if role == "made":
        return _("{code} — {name} for {position} — {state} (for {age})", code=code,
                 name=ctx.name_of(nomination.nominee_id), position=position_info(ctx.session, position).headline(),
                 state=state, age=since)
    if role == "about":
        return _("{code} — you, for {position} — {state} (for {age})", code=code,
                 position=position_info(ctx.session, position).headline(), state=state, age=since)
    who = ctx.name_of(nomination.nominee_id) if service.hr_may_identify(nomination) else \
        service.hidden_nominee(nomination)
    return _("{code} — {who}, nominated by {nominator} — {state} (for {age})", code=code, who=who,
             nominator=ctx.name_of(nomination.nominator_id), state=state, age=since)


@command("nomination list", usage=N_("nomination list [--all]"),
         summary=N_("Your nominations (made by you, about you); for HR, the queue (with --all, finished ones too)."),
         options=[Opt("all", flag=True, aliases=("tous", "toutes")), PAGE], group="position")
def nomination_list(ctx: Ctx, all: bool, page: int | None) -> Reply:
    made, about = service.own_nominations(ctx.session, ctx.person_id)
    made = sorted([*made, *support.supported_by(ctx.session, ctx.person_id)], key=lambda n: n.id or 0)
    hr = service.is_hr(ctx.session, ctx.settings, ctx.person_id)
    blocks: list[Block] = []
    for title, rows, role in ((_("Nominations you made"), made, "made"), (_("Nominations of you"), about, "about")):
        if rows:
            lines = []
            for n in rows:
                v = service.viewer(ctx.session, ctx.settings, n, ctx.person_id)
                assert v is not None
                lines.append(_nomination_line(ctx, n, service.get_position(ctx.session, n.position_id), v, role=role))
            blocks.append(Section(title=title, lines=tuple(lines)))
    if hr:
        queue, total = lists.hr_queue(ctx.session, offset=offset(page, service.QUEUE_LIMIT), finished=all,
                                      not_about=ctx.person_id)
        shown = page_of_total(queue, page, total, service.QUEUE_LIMIT)
        if not queue:
            blocks.append(Section(title=_("HR queue"), text=_("No nomination yet.") if all else
                                  _("No nomination in progress.")))
        hr_view = service.Viewer(is_nominator=False, is_nominee=False, is_hr=True)
        current: int | None = None
        lines = []
        for position, n in queue:
            if position.id != current:
                if lines:
                    blocks.append(Section(title=title, lines=tuple(lines)))
                current, lines = position.id, []
                title = _("HR queue — {position}", position=position_info(ctx.session, position).headline())
            lines.append(_nomination_line(ctx, n, position, hr_view, role="hr"))
        if lines:
            blocks.append(Section(title=title, lines=tuple(lines)))
        more = shown.more(lambda n: _("nomination list --all --page {page}", page=n) if all
                          else _("nomination list --page {page}", page=n))
        if more:
            blocks.append(Context(more))
    if not blocks:
        return text_reply(ctx, _("You have no nomination yet. See the open positions with position list."))
    blocks.append(Context(_("Details: nomination show <N-code>.")))
    return reply(ctx, _("Nominations"), *blocks)


@command("nomination show", usage=N_("nomination show <N-code>"), summary=N_("A nomination and its history."),
         args=[Arg("nomination", NOMINATION, label=N_("<N-code>"))], group="position")
def nomination_show(ctx: Ctx, nomination: int) -> Reply:
    row, v = service.visible_nomination(ctx.session, ctx.settings, nomination, ctx.person_id)
    position = service.get_position(ctx.session, row.position_id)
    info = position_info(ctx.session, position)
    code = nomination_code(row.id)
    identified = v.is_nominator or v.is_nominee or service.hr_may_identify(row)
    backing = support.supporter(ctx.session, nomination, ctx.person_id)  # the caller as a supporter
    fields = [Field(_("Position"), info.headline()), Field(_("State"), service.public_state(row, v)),
              Field(_("Nominated by"), ctx.name_of(backing.supporter_id if backing else row.nominator_id)),
              Field(_("Nominee"), ctx.name_of(row.nominee_id) if identified else service.hidden_nominee(row)),
              Field(_("Since"), _("{date} ({age} in this state)", date=day(row.created_at),
                                  age=age(ctx.now(), row.updated_at)))]
    if identified:
        fields.append(Field(_("Why"), retention.shown(backing.argument if backing else row.argument)))
    if v.is_hr and service.hr_may_identify(row):  # HR reads every argument
        fields += [Field(_("Also nominated by {name}", name=ctx.name_of(s.supporter_id)), retention.shown(s.argument))
                   for s in support.supporters(ctx.session, nomination)]
    history = []
    for event in service.events(ctx.session, row.id or 0):
        if event.to_state == service.AWAITING_CONSENT:
            continue
        state = service.shown_label(service.shown_state(event.to_state, row, v))
        line = f"{day(event.at)} — {state}"
        if event.note and (v.is_hr or event.shared):
            line += f" — {retention.shown(event.note)}"
        history.append(line)
    blocks: list[Block] = [Section(title=_("Nomination {code}", code=code), fields=tuple(fields))]
    if history:
        blocks.append(Section(title=_("History"), lines=tuple(history)))
    buttons: list[Button] = []
    if v.is_nominee and row.state == service.AWAITING_CONSENT:
        buttons += messaging.consent_buttons(code)
    elif v.is_nominee and row.state == service.CONSENTED:
        buttons.append(messaging.consent_buttons(code)[1])  # a yes may be taken back until HR moves it on
    if v.is_hr:
        buttons += [Button(service.state_label(s), messaging.move_command(code, s),
                           style="danger" if s == service.REJECTED else "default")
                    for s in service.HR_MOVES.get(row.state, ())]
    if v.is_nominator and row.state in service.WITHDRAWABLE:
        buttons.append(Button(_("Withdraw"), _("nomination withdraw {code}", code=code), style="danger"))
    if buttons:
        blocks.append(Actions(tuple(buttons)))
    return reply(ctx, _("Nomination {code}", code=code), *blocks)


@command("nomination consent", usage=N_("nomination consent <N-code> yes|no"),
         summary=N_("Nominees: agree (yes) or not (no) to be put forward; a yes may be taken back until HR "
                    "moves it on."),
         args=[Arg("nomination", NOMINATION, label=N_("<N-code>")), Arg("answer", CONSENT, label=N_("yes|no"))],
         group="position")
def nomination_consent(ctx: Ctx, nomination: int, answer: str) -> Reply:
    row, v = service.visible_nomination(ctx.session, ctx.settings, nomination, ctx.person_id)
    before = row.state
    after = service.answer_consent(ctx.session, row, v, answer == "yes", ctx.now())
    subject = f"nomination:{row.id}"
    ctx.audit("nomination.state", subject, named=False, before=before, after=after)  # the actor is the nominee
    position = service.get_position(ctx.session, row.position_id)
    info, code, nominee = position_info(ctx.session, position), nomination_code(row.id), ctx.person.display_name
    backers = support.backers(ctx.session, row)
    if after == service.CONSENTED:
        for backer in backers:
            ctx.tell_person(backer, lambda: messaging.nominator_consented(code, info, nominee), subject=subject)
        _tell_hr(ctx, row, lambda: messaging.hr_consented(code, info, nominee), named=True)
        return text_reply(ctx, _("Thank you: you are put forward for {position} ({code}). HR will contact you; you "
                            "will hear about each step.", position=info.headline(), code=code))
    for backer in backers:
        ctx.tell_person(backer, lambda: messaging.nominator_declined(code, info, nominee), subject=subject)
    if before == service.CONSENTED:  # a yes taken back: HR knew who they were, and is told they no longer do
        _tell_hr(ctx, row, lambda: messaging.consent_taken_back_to_hr(code, info))
    return text_reply(ctx, _("Noted: you are not put forward for {position} ({code}). The person who nominated you "
                        "is only told that it is closed, and HR is not told who you are.",
                        position=info.headline(), code=code))


@command("nomination withdraw", usage=N_("nomination withdraw <N-code>"),
         summary=N_("Nominators: withdraw your nomination (before an offer)."),
         args=[Arg("nomination", NOMINATION, label=N_("<N-code>"))], group="position")
def nomination_withdraw(ctx: Ctx, nomination: int) -> Reply:
    row, v = service.visible_nomination(ctx.session, ctx.settings, nomination, ctx.person_id)
    knew = service.hr_may_identify(row)
    subject = f"nomination:{row.id}"
    service.check_withdrawable(row, v)
    if support.withdraw_backing(ctx.session, row, ctx.person_id):  # others still back it: it goes on
        ctx.audit("nomination.unsupport", subject)
        return text_reply(ctx, _("You have withdrawn from nomination {code}: it no longer goes forward in your "
                                 "name.", code=nomination_code(row.id)))
    before = service.withdraw(ctx.session, row, v, ctx.person_id, ctx.now())
    ctx.audit("nomination.state", subject, before=before, after=service.WITHDRAWN)
    position = service.get_position(ctx.session, row.position_id)
    info, code = position_info(ctx.session, position), nomination_code(row.id)
    if row.nominee_id != ctx.person_id:
        ctx.tell_person(row.nominee_id, lambda: messaging.withdrawn_to_nominee(code, info), subject=subject)
    if knew:
        _tell_hr(ctx, row, lambda: messaging.withdrawn_to_hr(code, info))
    return text_reply(ctx, _("Nomination {code} withdrawn. The person you nominated has been told.", code=code))


@command("nomination move", usage=N_('nomination move <N-code> <state> ["<note>"] [--share]'),
         summary=N_("HR: move a nomination on, to under_review, interview, offered, hired or rejected (the "
                 "note stays with HR unless --share)."),
         args=[Arg("nomination", NOMINATION, label=N_("<N-code>")), Arg("state", STATE, label=N_("<state>")),
               Arg("note", TEXT, optional=True, label=N_('"<note>"'))],
         options=[Opt("share", flag=True, aliases=("partager",))], group="position")
def nomination_move(ctx: Ctx, nomination: int, state: str, note: str | None, share: bool) -> Reply:
    target = state
    row, v = service.visible_nomination(ctx.session, ctx.settings, nomination, ctx.person_id)
    before = service.hr_move(ctx.session, row, v, target, note or "", bool(share and note), ctx.person_id, ctx.now())
    subject = f"nomination:{row.id}"
    ctx.audit("nomination.state", subject, before=before, after=target, note=bool(note), shared=bool(share))
    position = service.get_position(ctx.session, row.position_id)
    info, code = position_info(ctx.session, position), nomination_code(row.id)
    shared_note = note if (note and share) else ""
    for person_id in dict.fromkeys((*support.backers(ctx.session, row), row.nominee_id)):
        if person_id != ctx.person_id:
            ctx.tell_person(person_id, lambda: messaging.state_changed(code, info, target, shared_note),
                            subject=subject)
    told = _("The nominator and the nominee have been told.")
    if note:
        told += " " + (_("Your note was shared with them.") if share else _("Your note stays with HR."))
    return text_reply(ctx, _("{code} moved from {before} to {after}.", code=code, before=service.state_label(before),
                        after=service.state_label(target)) + " " + told)

