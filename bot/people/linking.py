"""`profile link`: joining two accounts (say Slack and Matrix) into one person, with both confirming.

A joined account shares the person's roles, so a link made with one side's word only lets an attacker who
gets HR to type the attacker's code hold HR's role. Four steps, each showing the other account's platform
identity: A asks for a code; B types it and sees A's identity; B confirms; A sees B's identity and confirms.
Only then the persons merge, and both accounts are told. Until then either account may cancel
(`profile link cancel`): the code stops working and the other account, if it took part, is told.
"""

from __future__ import annotations

from collections.abc import Callable

from bot import identity
from bot.commands.cleantext import refuse_hidden
from bot.commands.context import Ctx
from bot.commands.grammar import Token
from bot.commands.registry import Arg, ArgType, ConvertEnv, command
from bot.errors import UserError
from bot.i18n import N_, _, use_locale
from bot.messages import Actions, Button, Context, Message, Reply, Section
from bot.people import service
from storage.tables import Account, Person


def _link_code(token: Token, env: ConvertEnv) -> str:
    refuse_hidden(token.text)
    return token.text.strip().upper()


LINK_CODE = ArgType("code", _link_code)


def shown_account(ctx: Ctx, account: Account) -> str:
    """An account as its owner's platform shows it: "Alice on Slack (slack:T1:U2)"."""
    descriptor = ctx.platforms.get(account.platform)
    written = descriptor.account_text(account.workspace, account.user_id) if descriptor else account.user_id
    return _("{name} on {platform} ({account})", name=account.display_name or account.user_id,
             platform=ctx.platforms.display_name(account.platform), account=written)


def tell_account(ctx: Ctx, account: Account, build: Callable[[], Message]) -> None:
    """A private message to this very account (not to the person's latest one), in its owner's language."""
    person = ctx.session.get(Person, account.person_id)
    locale = identity.person_locale(ctx.session, person, ctx.settings.locale) if person else ctx.settings.locale
    with use_locale(locale):
        message = build()
    ctx.outbox.enqueue(ctx.session, platform=account.platform, workspace=account.workspace, target_kind="dm",
                       target_id=account.user_id, message=message, person_id=account.person_id,
                       subject=f"link:{account.id}", not_before=ctx.now())


def _confirm_message(text: str) -> Message:
    buttons = (Button(_("Confirm"), _("profile link confirm"), style="primary"),
               Button(_("Cancel"), _("profile link cancel")))
    return Message(summary=text, blocks=(Section(text=text), Actions(buttons),
                                         Context(_("Not you? Do nothing: the code expires in 10 minutes."))))


def _refusal(problem: identity.LinkProblem) -> UserError:
    reasons = {
        "unknown": _("This link code does not exist. Ask for a new one with profile link."),
        "used": _("This link code has already been used. Ask for a new one with profile link."),
        "expired": _("This link code has expired (codes are valid 10 minutes). Ask for a new one."),
        "same-person": _("These accounts are already linked."),
        "same-platform": _("Enter the code from your account on the other platform, not this one."),
        "nothing": _("No account link is waiting for your confirmation (or it expired). Start again with "
                     "profile link."),
    }
    return UserError(reasons[problem.reason])


@command("profile link", usage=N_("profile link [<code>]"),
         summary=N_("Without a code: get a one-time code. With it, on your other platform: ask to join the two "
                    "accounts (both then confirm with profile link confirm)."),
         args=[Arg("code", LINK_CODE, optional=True, label=N_("<code>"))])
def profile_link(ctx: Ctx, code: str | None) -> Reply:
    if code is None:
        new = identity.new_link_code(ctx.session, ctx.account, ctx.now())
        ctx.audit("profile.link_code", f"person:{ctx.person_id}")
        return Reply.private(_("Your link code is {code}. Within 10 minutes, send `profile link {code}` to "
                               "Cercle from your account on the other platform. Keep it to yourself. Both "
                               "accounts will be asked to confirm.", code=new))
    try:
        origin = identity.claim_link_code(ctx.session, code, ctx.account, ctx.now())
    except identity.LinkProblem as problem:
        raise _refusal(problem) from None
    ctx.audit("profile.link_claim", f"person:{ctx.person_id}", platform=origin.platform)
    text = _("This will join your account with {other}: the two become one person, sharing roles, skills and "
             "communities. If that account is yours, confirm with profile link confirm.",
             other=shown_account(ctx, origin))
    return Reply(_confirm_message(text))


@command("profile link confirm", usage=N_("profile link confirm"),
         summary=N_("Confirm the account link waiting for you (each of the two accounts confirms)."))
def profile_link_confirm(ctx: Ctx) -> Reply:
    try:
        joined, other = identity.confirm_link(ctx.session, ctx.account, ctx.now(), ctx.assembly.merge_rules)
    except identity.LinkProblem as problem:
        raise _refusal(problem) from None
    me = shown_account(ctx, ctx.account)
    if not joined:
        ctx.audit("profile.link_confirm", f"person:{ctx.person_id}", platform=other.platform)
        tell_account(ctx, other, lambda: _confirm_message(_(
            "{other} asks to join your account with it, with the link code you asked for: the two would become one "
            "person, sharing roles, skills and communities. If that account is yours, confirm with profile link "
            "confirm.", other=me)))
        return Reply.private(_("Confirmed. {other} must now confirm too: Cercle has asked it in private.",
                               other=shown_account(ctx, other)))
    person = ctx.session.get(Person, ctx.account.person_id)
    assert person is not None
    ctx.person = person
    ctx.audit("profile.link", f"person:{person.id}", platform=other.platform)
    tell_account(ctx, other, lambda: Message.text(_("Done: your account is now joined with {other}, as one person, "
                                                    "{name}.", other=me, name=person.display_name)).rings())
    return Reply.private(_("Done: your accounts are now one person, {name}. Your roles, skills and "
                           "communities are shared.", name=person.display_name))


@command("profile link cancel", usage=N_("profile link cancel"),
         summary=N_("Cancel the account link you asked for or were asked to confirm: nothing is joined and its "
                    "code stops working."))
def profile_link_cancel(ctx: Ctx) -> Reply:
    dropped, others = service.cancel_links(ctx.session, ctx.account, ctx.now())
    if not dropped:
        return Reply.private(_("You have no account link waiting."))
    ctx.audit("profile.link_cancel", f"person:{ctx.person_id}", links=dropped,
              platforms=sorted({other.platform for other in others}))
    me = shown_account(ctx, ctx.account)
    for other in others:
        tell_account(ctx, other, lambda: Message.text(_("{other} cancelled the account link: nothing was joined, "
                                                        "and its link code no longer works.", other=me)))
    if not others:
        return Reply.private(_("Cancelled: nothing was joined, and your link code no longer works."))
    return Reply.private(_("Cancelled: nothing was joined, and the link code no longer works. {others} has been "
                           "told in private.", others=", ".join(shown_account(ctx, o) for o in others)))
