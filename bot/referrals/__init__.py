"""Talent-referral nominations: positions, confidential nominations, consent, HR workflow."""

from bot.capability import Capability
from bot.i18n import N_

CAPABILITY = Capability(
    name="referrals",
    modules=("bot.referrals.positions", "bot.referrals.commands", "bot.referrals.jobs", "bot.referrals.retention"),
    groups=(("position", N_("Talent referrals")),),
    # French command words. A word keeps one meaning across capabilities (`assemble` refuses otherwise).
    aliases=(("poste", "position"), ("postes", "position"), ("ouvrir", "open"), ("fermer", "close"),
             ("liste", "list"), ("coopter", "nominate"), ("recommander", "nominate"), ("candidature", "nomination"),
             ("cooptation", "nomination"), ("afficher", "show"), ("voir", "show"), ("consentir", "consent"),
             ("réponse", "consent"), ("retrait", "withdraw"), ("passer", "move"), ("déplacer", "move")),
    digest_sections=("bot.referrals.digest:SECTION",),
    home_sections=("bot.referrals.home:CONSENTS", "bot.referrals.home:MADE", "bot.referrals.home:QUEUE"),
    merge_rule="bot.referrals.personal:merge_hook",
    export="bot.referrals.personal:personal_data",
    cli=("bot.referrals.export:register",),
    confidential=("nominate", "nomination"),  # who was put forward, by whom, and why
    live=(("position", "bot.referrals.live:position_view"),),
    typed_in_private=("nominate", "nomination"),  # typed in a channel, the channel would read it (bot.places)
    # Each private message is sent only if its recipient may still read it then (bot.referrals.guard).
    delivery_guards=(("nomination:", "bot.referrals.guard:may_receive"),
                     ("referrals:", "bot.referrals.guard:may_receive")),
)
