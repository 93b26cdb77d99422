"""Commands: digest schedule, digest preview, digest now."""

from __future__ import annotations

from bot.commands.context import Ctx
from bot.commands.registry import SLUG, TEXT, Arg, Opt, command
from bot.communities import service as communities
from bot.digests import jobs, messaging, service
from bot.errors import UserError
from bot.i18n import N_, _, ngettext
from bot.i18n.formats import moment
from bot.messages import Reply


@command("digest schedule", usage=N_('digest schedule <slug> "<cron>" [--tz Europe/Paris]'),
         summary=N_("Managers: when the community's digest is posted (default: Mondays at 9:00)."),
         args=[Arg("slug", SLUG, label=N_("slug")), Arg("cron", TEXT, label=N_("cron"))],
         options=[Opt("tz", TEXT, aliases=("fuseau",))])
def schedule(ctx: Ctx, slug: str, cron: str, tz: str | None) -> Reply:
    community = communities.get_active(ctx.session, slug)
    communities.require_manager(ctx.session, ctx.settings, community, ctx.person_id)
    zone = tz or ctx.settings.timezone
    cron = " ".join(cron.split())
    service.validate(cron, zone, ctx.now())
    assert community.id is not None
    service.set_schedule(ctx.session, community.id, cron, zone, ctx.person_id, ctx.now())
    ctx.audit("digest.schedule", f"community:{community.id}", cron=cron, tz=zone)
    jobs.schedule_changed(community.id, cron, zone)
    nxt = service.trigger(cron, zone).get_next_fire_time(None, ctx.now())
    when = moment(nxt) if nxt else "?"
    return Reply.private(_("The digest of {name} is now posted on \"{cron}\" ({tz}). Next one: {when}.",
                           name=community.name, cron=cron, tz=zone, when=when))


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
         summary=N_("Managers: post the digest of the current period to the community's channels now."),
         args=[Arg("slug", SLUG, label=N_("slug"))])
def now(ctx: Ctx, slug: str) -> Reply:
    community = communities.get_active(ctx.session, slug)
    communities.require_manager(ctx.session, ctx.settings, community, ctx.person_id)
    assert community.id is not None
    if not communities.channels(ctx.session, community.id):
        raise UserError(_("No channel is linked to {name}: link one with community link {slug} in it first.",
                          name=community.name, slug=slug))
    start, end = service.manual_period(ctx.session, ctx.settings, community.id, ctx.now())
    digest = service.build(ctx.session, community, start, end, ctx.assembly.digest_sections)
    posted = jobs.post(ctx.outbox, ctx.session, ctx.settings, digest, communities.channels(ctx.session, community.id))
    ctx.audit("digest.now", f"community:{community.id}")
    return Reply.private(ngettext("The digest of {name} is posted in {n} channel.",
                                  "The digest of {name} is posted in {n} channels.", posted, name=community.name))

