"""Matrix as the core sees it: `@user:server` and `!room:server`/`#alias:server` in commands,
`matrix:@user:server` in CERCLE_ADMINS, and the `MATRIX_*` settings. Light on purpose: matrix-nio
and aiohttp load in `build`."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.commands.grammar import ChannelRef, UserRef
from bot.i18n import N_
from bot.platforms import PlatformDescriptor, RateLimit
from bot.settings import SettingsError, read_env

if TYPE_CHECKING:
    from bot.core import Core
    from bot.http import HttpServer
    from bot.supervision import PlatformAdapter

NAME = "matrix"
MXID = re.compile(r"^@[a-z0-9._=\-/+]+:[A-Za-z0-9.\-]+(?::\d+)?$")
_ROOM = re.compile(r"^[!#][^\s:]+:[A-Za-z0-9.\-]+(?::\d+)?$")


def workspace_of(user_id: str) -> str:
    """The Matrix "workspace" of an account is its homeserver name."""
    return user_id.split(":", 1)[1] if ":" in user_id else ""


@dataclass(frozen=True)
class MatrixSettings:
    """The bot's Matrix account and how it is addressed."""

    homeserver: str | None = None  # MATRIX_HOMESERVER
    user_id: str | None = None  # MATRIX_USER_ID
    password: str | None = field(default=None, repr=False)  # MATRIX_PASSWORD
    access_token: str | None = field(default=None, repr=False)  # MATRIX_ACCESS_TOKEN
    prefix: str = "!cercle"  # CERCLE_MATRIX_PREFIX
    allowed_servers: tuple[str, ...] = ()  # CERCLE_MATRIX_ALLOWED_SERVERS (default: the bot's own)

    @property
    def configured(self) -> bool:
        return bool(self.homeserver and self.user_id and (self.password or self.access_token))

    def secrets(self) -> tuple[str, ...]:
        return tuple(v for v in (self.password, self.access_token) if v)


def read_settings(env: Mapping[str, str | None]) -> MatrixSettings:
    homeserver, user_id = read_env(env, "MATRIX_HOMESERVER"), read_env(env, "MATRIX_USER_ID")
    password, token = read_env(env, "MATRIX_PASSWORD"), read_env(env, "MATRIX_ACCESS_TOKEN")
    if homeserver and not re.match(r"^https?://", homeserver):
        raise SettingsError("MATRIX_HOMESERVER", f"'{homeserver}' is not an http(s) URL")
    if user_id and not MXID.match(user_id):
        raise SettingsError("MATRIX_USER_ID", f"'{user_id}' is not a Matrix user id like @cercle:example.org")
    if homeserver and not (password or token):
        raise SettingsError("MATRIX_PASSWORD", "set MATRIX_PASSWORD or MATRIX_ACCESS_TOKEN")
    if homeserver and not user_id:
        raise SettingsError("MATRIX_USER_ID", "Matrix needs MATRIX_USER_ID")
    if homeserver and not read_env(env, "CERCLE_SECRET_KEY"):
        raise SettingsError("CERCLE_SECRET_KEY", "Matrix needs it: the bot's encryption keys are sealed with it")
    prefix = read_env(env, "CERCLE_MATRIX_PREFIX") or MatrixSettings.prefix
    if " " in prefix:
        raise SettingsError("CERCLE_MATRIX_PREFIX", "the prefix is one word, like !cercle")
    servers = read_env(env, "CERCLE_MATRIX_ALLOWED_SERVERS") or ""
    return MatrixSettings(homeserver=homeserver, user_id=user_id, password=password, access_token=token,
                          prefix=prefix, allowed_servers=tuple(s.strip() for s in servers.split(",") if s.strip()))


def parse_user(token: str, workspace: str) -> UserRef | None:
    return UserRef(NAME, workspace_of(token), token, token) if MXID.match(token) else None


def parse_channel(token: str, workspace: str) -> ChannelRef | None:
    return ChannelRef(NAME, workspace, token, token) if _ROOM.match(token) else None


def parse_account(rest: str) -> tuple[str, str]:
    if not MXID.match(rest):
        raise ValueError(rest)
    return workspace_of(rest), rest


def build(core: Core, section: MatrixSettings, http: HttpServer | None) -> PlatformAdapter:
    from adapters.matrix.adapter import MatrixAdapter

    return MatrixAdapter(core, section)


PLATFORM = PlatformDescriptor(
    name=NAME, display_name="Matrix", parse_user=parse_user, parse_channel=parse_channel,
    parse_account=parse_account, account_form="matrix:@user:server", read_settings=read_settings, build=build,
    private_origins=frozenset(),  # only a direct room with the bot: everything in a room is read by its members
    channel_marks=("!", "#"),
    command_hint="Matrix: `!cercle <command>` (or a message that mentions the bot first)",
    # The refusal of a confidential command typed in a room is sent to the person's direct room with the bot.
    private_hint=N_("Type it here, in your private conversation with Cercle (your direct room): nobody else reads "
                     "it."),
    confirms_mentions=True,  # room members, else a profile lookup (adapters/matrix/profiles.py)
    # Live posts are edited (`m.replace`): at most one edit per room every 2 s, one a second per homeserver,
    # well inside Synapse's default message budget, so edits never crowd out new posts.
    edit_pacing=RateLimit(per_target=2.0, per_second=1.0),
)
