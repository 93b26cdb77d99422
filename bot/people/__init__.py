"""People: profiles (skills, site), account linking, roles and language."""

from bot.capability import Capability
from bot.i18n import N_

CAPABILITY = Capability(
    name="people",
    modules=("bot.people.commands", "bot.people.linking"),
    groups=(("profile", N_("Profiles and roles")),),
    aliases=(("profil", "profile"), ("compétences", "skills"), ("competences", "skills"),
             ("afficher", "show"), ("voir", "show"), ("lier", "link"), ("confirmer", "confirm"), ("annuler", "cancel"),
             ("rôle", "role"),
             ("donner", "grant"), ("retirer", "revoke"), ("liste", "list"), ("langue", "language"),
             ("fuseau", "timezone"), ("fuseau-horaire", "timezone")),
    export="bot.people.service:personal_data",
    confidential=("profile",),  # someone's own data, and link codes
)
