"""Commands: profile, role, language."""

from __future__ import annotations

from bot import identity
from bot.commands.context import Ctx
from bot.commands.grammar import UserRef
from bot.commands.paging import PAGE, natural_key, page_title, paginate
from bot.commands.registry import CSV, NAME, USER, WORD, Arg, choice_type, command
from bot.errors import UserError
from bot.i18n import N_, _, typed_word, use_locale
from bot.i18n.formats import moment, zone_name
from bot.messages import Context, Field, Message, Reply, Section
from bot.people import service
from bot.permissions import ANYONE, GRANTABLE, Role, is_configured_admin, roles_of
from bot.settings import SUPPORTED_LOCALES
from storage.tables import Person

ROLE = choice_type(*GRANTABLE, kind="role", aliases={"communicante": "communicator"})
LANG = choice_type(*SUPPORTED_LOCALES, kind="language", aliases={"english": "en", "anglais": "en", "french": "fr",
                                                "français": "fr", "francais": "fr"})


@command("profile skills", usage=N_("profile skills a,b,c"), summary=N_("Set your skills (replaces the list)."),
         args=[Arg("skills", CSV, label=N_("skills"), rest=True)])
def profile_skills(ctx: Ctx, skills: list[str]) -> Reply:
    if len(skills) > 30:
        raise UserError(_("At most 30 skills, please: keep the ones people should ask you about."))
    saved = service.set_skills(ctx.session, ctx.person_id, skills)
    ctx.audit("profile.skills", f"person:{ctx.person_id}", count=len(saved))
    return Reply.private(_("Your skills: {skills}.", skills=", ".join(saved)))


@command("profile site", usage=N_('profile site "<site>"'), summary=N_("Set the site where you work."),
         args=[Arg("site", NAME, label=N_("site"), rest=True)])
def profile_site(ctx: Ctx, site: str) -> Reply:
    if len(site) > 200:
        raise UserError(_("A site name is at most 200 characters long."))
    ctx.person.site = site
    ctx.audit("profile.site", f"person:{ctx.person_id}")
    return Reply.private(_("Your site: {site}.", site=site))


@command("profile show", usage=N_("profile show [@user]"), summary=N_("Show your profile or someone's."),
         args=[Arg("user", USER, optional=True, label=N_("@person"))])
def profile_show(ctx: Ctx, user: UserRef | None) -> Reply:
    person = ctx.known_person(user) if user else ctx.person
    assert person.id is not None
    skills = service.skills_of(ctx.session, person.id)
    memberships = service.communities_of(ctx.session, person.id)
    roles = sorted(typed_word(r.value, "role") for r in roles_of(ctx.session, person.id, ctx.settings))
    communities = ", ".join(f"{c.slug}{' ★' if manager else ''}" for c, manager in memberships)
    fields = (
        Field(_("Skills"), ", ".join(skills) or _("none yet")),
        Field(_("Site"), person.site or _("not set")),
        Field(_("Time zone"), zone_shown(ctx, person)),
        Field(_("Communities"), communities or _("none yet")),
        Field(_("Roles"), ", ".join(roles) or _("member")),
    )
    blocks: list = [Section(title=person.display_name, fields=fields)]
    if person.id == ctx.person_id:
        accounts = ", ".join(f"{a.platform}:{a.user_id}" for a in service.accounts_of(ctx.session, person.id))
        blocks.append(Context(_("Your accounts: {accounts}. ★ = community manager.", accounts=accounts)))
    return Reply(Message(summary=person.display_name, blocks=tuple(blocks)))


def zone_shown(ctx: Ctx, person: Person) -> str:
    """The person's zone and where it comes from: their setting, their chat profile, or the default."""
    if person.timezone:
        return person.timezone
    zone = identity.person_zone(ctx.session, person, ctx.settings.timezone)
    if zone != ctx.settings.timezone:
        return _("{zone} (from the chat profile)", zone=zone)
    return _("{zone} (the default)", zone=ctx.settings.timezone)


@command("profile timezone", usage=N_("profile timezone <Zone>"),
         summary=N_("Set your time zone (like Europe/Paris): Cercle shows you times in it."),
         args=[Arg("zone", WORD, label=N_("<Zone>"))])
def profile_timezone(ctx: Ctx, zone: str) -> Reply:
    name = zone_name(zone)
    if name is None:
        raise UserError(_("'{value}' is not a time zone. Give its name, like Europe/Paris, America/New_York or "
                          "UTC.", value=zone[:60]))
    ctx.person.timezone = name
    ctx.audit("profile.timezone", f"person:{ctx.person_id}", timezone=name)
    with use_locale(ctx.locale, zone=name):
        return Reply.private(_("Your time zone: {zone}. It is {now} there now.", zone=name, now=moment(ctx.now())))


@command("role grant", usage=N_("role grant @user admin|hr|communicator"),
         summary=N_("Give someone a role (admins only)."),
         args=[Arg("user", USER, label=N_("person")), Arg("role", ROLE, label=N_("role"))], group="profile")
def role_grant(ctx: Ctx, user: UserRef, role: str) -> Reply:
    ctx.require_role(Role.ADMIN)
    person = ctx.person_of(user)
    assert person.id is not None
    if not service.grant(ctx.session, person.id, Role(role), ctx.person_id):
        return Reply.private(_("{name} already has the {role} role.", name=person.display_name,
                               role=typed_word(role, "role")))
    ctx.audit("role.grant", f"person:{person.id}", role=role)
    if person.id == ctx.person_id:  # an admin taking a role: its other holders hear of it
        for holder in service.other_holders(ctx.session, ctx.settings, Role(role), person.id):
            ctx.tell_person(holder, lambda: Message.text(_("{who} gave themselves the {role} role in Cercle.",
                                                           who=ctx.person.display_name,
                                                           role=typed_word(role, "role"))).rings(),
                            subject=f"role:{person.id}")
        return Reply.private(_("You now have the {role} role. The other people holding it have been told.",
                               role=typed_word(role, "role")))
    ctx.tell_person(person.id, lambda: Message.text(_("{who} gave you the {role} role in Cercle.",
                                                        who=ctx.person.display_name, role=typed_word(role, "role"))),
                    subject=f"role:{person.id}")
    return Reply.private(_("{name} now has the {role} role.", name=person.display_name,
                           role=typed_word(role, "role")))


@command("role revoke", usage=N_("role revoke @user <role>"), summary=N_("Take a role back (admins only)."),
         args=[Arg("user", USER, label=N_("person")), Arg("role", ROLE, label=N_("role"))], group="profile")
def role_revoke(ctx: Ctx, user: UserRef, role: str) -> Reply:
    ctx.require_role(Role.ADMIN)
    person = ctx.person_of(user)
    assert person.id is not None
    if role == Role.ADMIN.value and is_configured_admin(ctx.session, person.id, ctx.settings):
        raise UserError(_("{name} is an administrator through CERCLE_ADMINS; change that setting instead.",
                          name=person.display_name))
    if not service.revoke(ctx.session, person.id, Role(role)):
        raise UserError(_("{name} does not have the {role} role.", name=person.display_name,
                          role=typed_word(role, "role")))
    ctx.audit("role.revoke", f"person:{person.id}", role=role)
    ctx.tell_person(person.id, lambda: Message.text(_("{who} took back your {role} role in Cercle.",
                                                        who=ctx.person.display_name, role=typed_word(role, "role"))),
                    subject=f"role:{person.id}")
    return Reply.private(_("{name} no longer has the {role} role.", name=person.display_name,
                           role=typed_word(role, "role")))


@command("role list", usage=N_("role list"), summary=N_("Who holds which role."), options=[PAGE],
         group="profile")
def role_list(ctx: Ctx, page: int | None) -> Reply:
    holders = sorted(service.role_holders(ctx.session), key=lambda h: (h[1], natural_key(h[0].display_name)))
    lines = [_("{role}: {name}", role=typed_word(role, "role"), name=person.display_name) for person, role in holders]
    configured = [str(a) if a.user_id != ANYONE else _("{platform}: everyone", platform=a.platform)
                  for a in ctx.settings.admins]
    if configured:
        lines.append(_("admin (CERCLE_ADMINS): {accounts}", accounts=", ".join(configured)))
    if not lines:
        return Reply.private(_("Nobody holds a role yet. Administrators are set with CERCLE_ADMINS."))
    shown = paginate(lines, page)
    title = page_title(_("Roles"), shown)
    blocks: list = [Section(title=title, lines=tuple(shown.items))]
    more = shown.more(lambda n: _("role list --page {page}", page=n))
    if more:
        blocks.append(Context(more))
    return Reply(Message(summary=title, blocks=tuple(blocks)))


@command("language", usage=N_("language en|fr"), summary=N_("Choose the language Cercle speaks to you."),
         args=[Arg("language", LANG, label=N_("language"))], group="help")
def language(ctx: Ctx, language: str) -> Reply:
    ctx.person.locale = language
    ctx.audit("profile.language", f"person:{ctx.person_id}", language=language)
    with use_locale(language):
        return Reply.private(_("From now on Cercle speaks English to you."))
