"""The capability command modules; importing one registers its commands, aliases and jobs."""

from __future__ import annotations

import importlib

MODULES = (
    "bot.commands.help",
    "bot.people.commands",
    "bot.communities.commands",
    "bot.referrals.commands",
    "bot.consultations.commands",
    "bot.digests.commands",
    "bot.referrals.digest",
)


# Modules adding subcommands to the `cercle` command line (e.g. `cercle export ...`); each defines
# `register(cli: click.Group) -> None`.
CLI_MODULES: tuple[str, ...] = ("bot.referrals.export",)


def load() -> None:
    for name in MODULES:
        importlib.import_module(name)
