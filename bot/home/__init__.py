"""A person's home: what is waiting for them (`home`, Slack's Home tab), built from every capability's
home sections (`bot.home_sections`)."""

from bot.capability import Capability
from bot.i18n import N_

CAPABILITY = Capability(
    name="home",
    modules=("bot.home.commands",),
    groups=(("home", N_("Your home")),),
    aliases=(("accueil", "home"),),
    confidential=("home",),  # the person's nominations, consents and HR queue: for their eyes only
)
