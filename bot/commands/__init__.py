"""Grammar, parsing, the command registry, the router and help.

`CAPABILITY` is the core's own: `help` (the language command belongs to people).
"""

from bot.capability import Capability
from bot.i18n import N_

CAPABILITY = Capability(
    name="help",
    modules=("bot.commands.help",),
    groups=(("help", N_("Help and language")),),
    aliases=(("aide", "help"), ("?", "help")),
)
