"""Commands: digest schedule (set, show, off), digest preview, digest now."""

from __future__ import annotations

from bot.commands.context import Ctx
from bot.commands.grammar import Token
from bot.commands.registry import SLUG, TEXT, Arg, ArgType, ConvertEnv, Opt, command
from bot.communities import service as communities
from bot.digests import jobs, messaging, service
from bot.errors import UserError
from bot.forms import Input, form
from bot.i18n import N_, _, fold, ngettext, typed_word
from bot.i18n.formats import day, moment
from bot.messages import Reply
from bot.settings import SUPPORTED_LOCALES

OFF = "off"
_OFF_ALIASES = {"arret", "aucun", "aucune", "non", "no", "none", "stop", "jamais", "never"}


def _cron_or_off(token: Token, env: ConvertEnv) -> str:
    """A cron line, or the word that turns the digest off (`off`, French `arrêt`)."""
    words = {fold(typed_word(OFF, "digest schedule", locale)) for locale in SUPPORTED_LOCALES} | _OFF_ALIASES
    return OFF if fold(token.text) in words | {OFF} else TEXT.convert(token, env)


CRON = ArgType("digest schedule", _cron_or_off, (OFF,))


SCHEDULES = (("0 9 * * 1", N_("Every Monday at 9:00")), ("0 9 * * 1-5", N_("Every weekday at 9:00")),
             ("0 16 * * 5", N_("Every Friday at 16:00")), ("0 9 1 * *", N_("The first day of each month at 9:00")),
             (OFF, N_("Never (turn the digest off)")))
ZONES = ("Europe/Paris", "Europe/London", "Europe/Berlin", "Europe/Madrid", "Europe/Lisbon", "Europe/Warsaw",
         "Europe/Athens", "Africa/Casablanca", "UTC", "America/New_York", "America/Chicago", "America/Denver",
         "America/Los_Angeles", "America/Sao_Paulo", "America/Montreal", "Asia/Dubai", "Asia/Kolkata",
         "Asia/Singapore", "Asia/Shanghai", "Asia/Tokyo", "Australia/Sydney")


@form(title=N_("Schedule the digest"), submit=N_("Save"), inputs=[
    Input("slug", N_("Community"), "choice", source=lambda env: communities.choices(env.session),
          initial=lambda env: communities.slug_of_channel(env.session, env.channel_id)),
    Input("cron", N_("When"), "choice", choices=SCHEDULES, initial="0 9 * * 1"),
    Input("tz", N_("Time zone"), "choice", option="tz", initial=lambda env: env.zone,
          source=lambda env: [(z, z) for z in dict.fromkeys((env.zone, *ZONES))])])
@command("digest schedule", usage=N_('digest schedule <slug> ["<cron>"|off] [--tz Europe/Paris]'),
         summary=N_("Managers: when the community's digest is posted (default: Mondays at 9:00); off stops it; "
                    "without a schedule, shows it."),
         args=[Arg("slug", SLUG, label=N_("slug")), Arg("cron", CRON, optional=True, label=N_("cron"))],
         options=[Opt("tz", TEXT, aliases=("fuseau",))])
def schedule(ctx: Ctx, slug: str, cron: str | None, tz: str | None) -> Reply:
    community = communities.get_active(ctx.session, slug)
    communities.require_manager(ctx.session, ctx.settings, community, ctx.person_id)
    assert community.id is not None
    if cron is None:
        if tz:
            raise UserError(_("Give the schedule with its time zone: digest schedule {slug} \"<cron>\" --tz {tz}",
                              slug=slug, tz=tz))
        return Reply.private(_describe(ctx, community.id, community.name, slug))
    if cron == OFF:
        if not service.turn_off(ctx.session, ctx.settings, community.id, ctx.person_id, ctx.now()):
            return Reply.private(_("The digest of {name} is already off.", name=community.name))
        ctx.audit("digest.off", f"community:{community.id}")
        jobs.schedule_changed(community.id, None, "")
        return Reply.private(_("The digest of {name} is off: nothing is posted until you set a schedule again "
                               "(digest schedule {slug} \"0 9 * * 1\").", name=community.name, slug=slug))
    zone = tz or ctx.settings.timezone
    cron = " ".join(cron.split())
    service.validate(cron, zone, ctx.now())
    service.set_schedule(ctx.session, community.id, cron, zone, ctx.person_id, ctx.now())
    ctx.audit("digest.schedule", f"community:{community.id}", cron=cron, tz=zone)
    jobs.schedule_changed(community.id, cron, zone)
    nxt = service.trigger(cron, zone).get_next_fire_time(None, ctx.now())
    when = moment(nxt) if nxt else "?"
    return Reply.private(_("The digest of {name} is now posted on \"{cron}\" ({tz}). Next one: {when}.",
                           name=community.name, cron=cron, tz=zone, when=when))


def _describe(ctx: Ctx, community_id: int, name: str, slug: str) -> str:
    """`digest schedule <slug>`: the schedule as it stands."""
    row = service.schedule_row(ctx.session, community_id)
    if row is not None and row.off_since is not None:
        return _("The digest of {name} is off since {date}. Turn it back on with digest schedule {slug} "
                 "\"0 9 * * 1\".", name=name, date=day(row.off_since), slug=slug)
    cron, zone = service.schedule_of(ctx.session, ctx.settings, community_id)
    nxt = service.trigger(cron, zone).get_next_fire_time(None, ctx.now())
    when = moment(nxt) if nxt else "?"
    if row is None:
        return _("The digest of {name} follows the default schedule, \"{cron}\" ({tz}): Mondays at 9:00. Next one: "
                 "{when}.", name=name, cron=cron, tz=zone, when=when)
    return _("The digest of {name} is posted on \"{cron}\" ({tz}). Next one: {when}.", name=name, cron=cron, tz=zone,
             when=when)


@command("digest preview", usage=N_("digest preview <slug>"),
         summary=N_("Managers: see the digest of the current period, privately."),
         args=[Arg("slug", SLUG, label=N_("slug"))])
def preview(ctx: Ctx, slug: str) -> Reply:
    community = communities.get(ctx.session, slug)
    communities.require_manager(ctx.session, ctx.settings, community, ctx.person_id)
    assert community.id is not None
    start, end = service.manual_period(ctx.session, ctx.settings, community.id, ctx.now())
    return Reply(messaging.render(service.build(ctx.session, community, start, end, ctx.assembly.digest_sections)))


@command("digest now", usage=N_("digest now <slug>"),
         summary=N_("Managers: post the digest of the current period to the community's channels now (once per "
                    "period)."),
         args=[Arg("slug", SLUG, label=N_("slug"))])
def now(ctx: Ctx, slug: str) -> Reply:
    community = communities.get_active(ctx.session, slug)
    communities.require_manager(ctx.session, ctx.settings, community, ctx.person_id)
    assert community.id is not None
    channels = communities.channels(ctx.session, community.id)
    if not channels:
        raise UserError(_("No channel is linked to {name}: link one with community link {slug} in it first.",
                          name=community.name, slug=slug))
    start, end = service.manual_period(ctx.session, ctx.settings, community.id, ctx.now())
    digest = service.build(ctx.session, community, start, end, ctx.assembly.digest_sections)
    key = "now-" + service.manual_key(ctx.session, ctx.settings, community.id, ctx.now())
    posted = jobs.post(ctx.outbox, ctx.session, ctx.settings, digest, channels, key=key)
    if not posted:
        raise UserError(_("The digest of {name} was already posted for this period: it is posted once. Preview "
                          "what is new with digest preview {slug}.", name=community.name, slug=slug))
    ctx.audit("digest.now", f"community:{community.id}")
    return Reply.private(ngettext("The digest of {name} is posted in {n} channel.",
                                  "The digest of {name} is posted in {n} channels.", posted, name=community.name))
