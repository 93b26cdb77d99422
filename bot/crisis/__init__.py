"""Crisis announcements: one trusted voice, every channel, acknowledgements, questions (design §1.3)."""

from bot.capability import Capability
from bot.i18n import N_

CAPABILITY = Capability(
    name="crisis",
    modules=("bot.crisis.commands", "bot.crisis.manage", "bot.crisis.jobs"),
    groups=(("crisis", N_("Crisis announcements")),),
    aliases=(("crise", "crisis"), ("déclarer", "declare"), ("declarer", "declare"),
             ("annoncer", "announce"), ("lu", "ack"), ("poser", "ask"), ("demander", "ask"),
             ("répondre", "answer"), ("repondre", "answer"), ("état", "status"), ("etat", "status"),
             ("relancer", "remind"), ("clore", "close"), ("clôturer", "close"),
             ("cloturer", "close"), ("annuler", "cancel")),
    home_sections=("bot.crisis.home:TO_ACKNOWLEDGE", "bot.crisis.home:PROGRESS"),
    merge_rule="bot.crisis.service:merge_persons",
    export="bot.crisis.personal:personal_data",
    cli=("bot.crisis.export:register",),
    confidential=("crisis ask", "crisis questions"),  # who asked what (anonymous questions too)
    anonymous=(("crisis ask", "bot.crisis.commands:is_anonymous_ask"),),
    live=(("crisis", "bot.crisis.live:announcement_view"),),
    delivery_guards=(("crisis:", "bot.crisis.guard:still_due"),),  # a reminder of a closed crisis, or read since
)
