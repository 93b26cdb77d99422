"""The console as a platform: `@name` and `#name` in commands, `console:<name>` in CERCLE_ADMINS.

The console is not started by `cercle run` next to other platforms: with none configured, the
composition root runs it on its own (`bot.app.run_console`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from bot.commands.grammar import ChannelRef, UserRef
from bot.i18n import N_
from bot.platforms import PlatformDescriptor

NAME = "console"
WORKSPACE = "local"  # every console account and channel lives in one workspace
_NAME = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")
_USER = re.compile(r"^@([A-Za-z0-9._\-]{1,64})$")
_CHANNEL = re.compile(r"^#([A-Za-z0-9._\-]{1,64})$")


@dataclass(frozen=True)
class ConsoleSettings:
    """Nothing to set: the console runs when no other platform is configured."""

    @property
    def configured(self) -> bool:
        return False

    def secrets(self) -> tuple[str, ...]:
        return ()


def valid_name(name: str) -> bool:
    """A console user or channel name: letters, digits, dots, dashes and underscores."""
    return bool(_NAME.match(name))


def parse_user(token: str, workspace: str) -> UserRef | None:
    """`@alice`; console names are one person whatever their case (`@ALICE` is alice)."""
    m = _USER.match(token)
    return UserRef(NAME, WORKSPACE, m.group(1).lower(), token) if m else None


def parse_channel(token: str, workspace: str) -> ChannelRef | None:
    m = _CHANNEL.match(token)
    return ChannelRef(NAME, WORKSPACE, m.group(1), token) if m else None


def parse_account(rest: str) -> tuple[str, str]:
    if not valid_name(rest):
        raise ValueError(rest)
    return WORKSPACE, rest.lower()  # console names ignore case


def read_settings(env: Mapping[str, str | None]) -> ConsoleSettings:
    return ConsoleSettings()


PLATFORM = PlatformDescriptor(
    name=NAME, display_name=N_("the console"), parse_user=parse_user, parse_channel=parse_channel,
    parse_account=parse_account, account_form="console:<name>", read_settings=read_settings,
    private_origins=frozenset(), channel_marks=("#",),
    command_hint="console: `<command>`",
    channel_refs_are_ids=False,  # `#name` is any name: only a channel Cercle knows may be an audience
    private_hint=N_("Switch to your private conversation with Cercle (:dm) and type it there."),
)
