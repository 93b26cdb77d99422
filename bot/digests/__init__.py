"""Scheduled digests: what happened in a community, posted to its channels on its schedule.

The content comes from every capability's digest sections (`bot.digest_sections`); digests lay it out,
schedule it and post it once per period.
"""

from bot.capability import Capability
from bot.i18n import N_

CAPABILITY = Capability(
    name="digests",
    modules=("bot.digests.commands", "bot.digests.jobs"),
    groups=(("digest", N_("Digests")),),
    aliases=(("synthèse", "digest"), ("synthese", "digest"), ("résumé", "digest"), ("resume", "digest"),
             ("planifier", "schedule"),
             ("aperçu", "preview"), ("apercu", "preview"), ("maintenant", "now")),
)
