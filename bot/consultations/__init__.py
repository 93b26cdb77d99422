"""Consultations (members vote, the manager answers publicly) and ideas (members propose and upvote)."""

from bot.capability import Capability
from bot.i18n import N_

CAPABILITY = Capability(
    name="consultations",
    modules=("bot.consultations.commands", "bot.consultations.ideas", "bot.consultations.jobs"),
    groups=(("consult", N_("Consultations and ideas")),),
    aliases=(("consulter", "consult"), ("consultation", "consult"), ("ouvrir", "open"),
             ("voter", "vote"), ("résultats", "results"), ("resultats", "results"),
             ("clore", "close"), ("fermer", "close"), ("répondre", "answer"), ("repondre", "answer"),
             ("idée", "idea"), ("idee", "idea"), ("soutenir", "upvote"), ("liste", "list")),
    digest_sections=("bot.consultations.digest:SECTION",),
    merge_rule="bot.consultations.service:merge_persons",
    export="bot.consultations.personal:personal_data",
    anonymous=(("vote", "bot.consultations.commands:is_secret_vote"),),
    live=(("consultation", "bot.consultations.live:consultation_view"), ("idea", "bot.consultations.live:idea_view")),
)
