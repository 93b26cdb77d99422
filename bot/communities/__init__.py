"""Communities: purpose, members, managers, who knows what, shared resources."""

from bot.capability import Capability
from bot.i18n import N_

CAPABILITY = Capability(
    name="communities",
    modules=("bot.communities.commands", "bot.communities.resources"),
    groups=(("community", N_("Communities")), ("whoknows", N_("Expertise and resources"))),
    aliases=(("communauté", "community"), ("communaute", "community"), ("créer", "create"),
             ("creer", "create"), ("rejoindre", "join"), ("quitter", "leave"), ("membres", "members"),
             ("délier", "unlink"), ("delier", "unlink"), ("promouvoir", "promote"),
             ("archiver", "archive"), ("quisait", "whoknows"), ("partager", "share"),
             ("ressources", "resources"), ("désarchiver", "unarchive"), ("desarchiver", "unarchive"),
             ("réactiver", "unarchive"), ("reactiver", "unarchive"), ("supprimer", "remove"),
             ("enlever", "remove")),
    digest_sections=("bot.communities.digest:SECTION",),
    home_sections=("bot.communities.home:MINE", "bot.communities.home:HEALTH"),
    merge_rule="bot.communities.service:merge_persons",
    export="bot.communities.service:personal_data",
)
