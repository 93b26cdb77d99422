"""Slack as the core sees it: `<@U…>` and `<#C…>` in commands, `slack:<team>:<user>` in CERCLE_ADMINS
(`slack:<E… organisation>:<user>` in Enterprise Grid), the `SLACK_*` settings, and pacing. Light on purpose:
slack_bolt and aiohttp load in `build`."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from bot.commands.grammar import ChannelRef, UserRef
from bot.i18n import N_
from bot.platforms import PlatformDescriptor, RateLimit
from bot.settings import SettingsError, read_env

if TYPE_CHECKING:
    from bot.core import Core
    from bot.http import HttpServer
    from bot.supervision import PlatformAdapter

NAME = "slack"
_USER = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|([^>]*))?>$")
_CHANNEL = re.compile(r"^<#(C[A-Z0-9]+|G[A-Z0-9]+)(?:\|([^>]*))?>$")
_ID = re.compile(r"^[A-Z0-9]{2,}$")
_COMMAND = re.compile(r"^/[a-z0-9_\-]{1,31}$")
_SCOPE = re.compile(r"^[a-z_]+(:[a-z_.]+)*$")
# The bot scopes an OAuth install asks for by default: the manifest's (tests/adapters/slack/test_manifest.py).
BOT_SCOPES = ("commands", "chat:write", "chat:write.public", "im:write", "im:history", "channels:history",
              "groups:history", "pins:write", "users:read", "app_mentions:read")


@dataclass(frozen=True)
class SlackSettings:
    """A single-workspace Slack app (a bot token), or an app installed in several workspaces through
    OAuth (client id and secret: tokens kept sealed in the database); HTTP mode, or Socket Mode."""

    bot_token: str | None = field(default=None, repr=False)  # SLACK_BOT_TOKEN
    signing_secret: str | None = field(default=None, repr=False)  # SLACK_SIGNING_SECRET (HTTP mode only)
    app_token: str | None = field(default=None, repr=False)  # SLACK_APP_TOKEN: Socket Mode when set
    api_url: str = "https://slack.com/api/"  # SLACK_API_URL
    command: str = "/cercle"  # CERCLE_SLACK_COMMAND
    client_id: str | None = None  # SLACK_CLIENT_ID: OAuth install in several workspaces
    client_secret: str | None = field(default=None, repr=False)  # SLACK_CLIENT_SECRET
    scopes: tuple[str, ...] = BOT_SCOPES  # SLACK_SCOPES
    redirect_uri: str | None = None  # SLACK_REDIRECT_URI (else the one registered in the app)

    @property
    def configured(self) -> bool:
        """A bot token or an OAuth install, and the signing secret unless in Socket Mode (Slack's websocket
        needs no signature)."""
        return bool((self.bot_token or self.oauth) and (self.signing_secret or self.app_token))

    @property
    def oauth(self) -> bool:
        """Installed through OAuth: each workspace's token comes from the database."""
        return bool(self.client_id and self.client_secret)

    @property
    def socket_mode(self) -> bool:
        return bool(self.app_token)

    def secrets(self) -> tuple[str, ...]:
        return tuple(v for v in (self.bot_token, self.signing_secret, self.app_token, self.client_secret) if v)


def read_settings(env: Mapping[str, str | None]) -> SlackSettings:
    token, secret = read_env(env, "SLACK_BOT_TOKEN"), read_env(env, "SLACK_SIGNING_SECRET")
    app_token = read_env(env, "SLACK_APP_TOKEN")
    if token and not token.startswith("xoxb-"):
        raise SettingsError("SLACK_BOT_TOKEN", "a bot token starts with xoxb-")
    if app_token and not app_token.startswith("xapp-"):
        raise SettingsError("SLACK_APP_TOKEN", "an app-level token starts with xapp-")
    oauth = read_oauth(env)
    if token and oauth:
        raise SettingsError("SLACK_BOT_TOKEN", "set either SLACK_BOT_TOKEN (one workspace) or SLACK_CLIENT_ID "
                                               "and SLACK_CLIENT_SECRET (OAuth install), not both")
    if (secret or app_token) and not (token or oauth):
        raise SettingsError("SLACK_BOT_TOKEN", "Slack needs SLACK_BOT_TOKEN (with SLACK_SIGNING_SECRET, or with "
                                               "SLACK_APP_TOKEN for Socket Mode)")
    if (token or oauth) and not (secret or app_token):
        raise SettingsError("SLACK_SIGNING_SECRET", "Slack needs SLACK_SIGNING_SECRET (HTTP mode) or "
                                                    "SLACK_APP_TOKEN (Socket Mode) with SLACK_BOT_TOKEN")
    section = replace(oauth or SlackSettings(), bot_token=token, signing_secret=secret, app_token=app_token)
    api = read_env(env, "SLACK_API_URL")
    if api:
        if not re.match(r"^https?://", api):
            raise SettingsError("SLACK_API_URL", f"'{api}' is not an http(s) URL")
        section = replace(section, api_url=api if api.endswith("/") else api + "/")
    command = read_env(env, "CERCLE_SLACK_COMMAND")
    if command:
        if not _COMMAND.match(command):
            raise SettingsError("CERCLE_SLACK_COMMAND", f"'{command}' is not a slash command like /cercle")
        section = replace(section, command=command)
    return section


def read_oauth(env: Mapping[str, str | None]) -> SlackSettings | None:
    """The OAuth install settings, or None without SLACK_CLIENT_ID and SLACK_CLIENT_SECRET."""
    client_id, client_secret = read_env(env, "SLACK_CLIENT_ID"), read_env(env, "SLACK_CLIENT_SECRET")
    if not (client_id or client_secret):
        return None
    if not (client_id and client_secret):
        missing = "SLACK_CLIENT_SECRET" if client_id else "SLACK_CLIENT_ID"
        raise SettingsError(missing, "an OAuth install needs both SLACK_CLIENT_ID and SLACK_CLIENT_SECRET")
    if not read_env(env, "CERCLE_SECRET_KEY"):
        raise SettingsError("CERCLE_SECRET_KEY", "Slack OAuth install needs it: each workspace's tokens are kept "
                                                 "in the database, sealed with it")
    section = SlackSettings(client_id=client_id, client_secret=client_secret)
    scopes = read_env(env, "SLACK_SCOPES")
    if scopes:
        listed = tuple(s.strip() for s in scopes.split(",") if s.strip())
        wrong = [s for s in listed if not _SCOPE.match(s)]
        if wrong or not listed:
            raise SettingsError("SLACK_SCOPES", f"'{(wrong or [scopes])[0]}' is not a Slack scope like chat:write")
        section = replace(section, scopes=listed)
    redirect = read_env(env, "SLACK_REDIRECT_URI")
    if redirect:
        if not re.match(r"^https?://", redirect):
            raise SettingsError("SLACK_REDIRECT_URI", f"'{redirect}' is not an http(s) URL")
        section = replace(section, redirect_uri=redirect)
    return section


def parse_user(token: str, workspace: str) -> UserRef | None:
    m = _USER.match(token)
    return UserRef(NAME, workspace, m.group(1), m.group(2) or m.group(1)) if m else None


def parse_channel(token: str, workspace: str) -> ChannelRef | None:
    m = _CHANNEL.match(token)
    return ChannelRef(NAME, workspace, m.group(1), "#" + (m.group(2) or m.group(1))) if m else None


def parse_account(rest: str) -> tuple[str, str]:
    team, _sep, user = rest.partition(":")
    if not (_ID.match(team) and _ID.match(user)):
        raise ValueError(rest)
    return team, user


def format_account(workspace: str, user_id: str) -> str:
    return f"{workspace}:{user_id}"


def build(core: Core, section: SlackSettings, http: HttpServer | None) -> PlatformAdapter:
    from adapters.slack.app import SlackAdapter

    return SlackAdapter(core, section, http)


PLATFORM = PlatformDescriptor(
    name=NAME, display_name="Slack", parse_user=parse_user, parse_channel=parse_channel,
    parse_account=parse_account, format_account=format_account,
    account_form="slack:<team or Grid organisation id>:<user id>",
    read_settings=read_settings, build=build,
    # Only the person sees what they typed there, or which button they clicked (its answer is ephemeral),
    # and their Home tab.
    private_origins=frozenset({"slash", "modal", "button", "home"}),
    private_hint=N_("Type it with the slash command (/cercle …), which only you see, or in your direct messages "
                    "with Cercle."),
    confirms_mentions=True,  # users.info answers for every mention (adapters/slack/users.py)
    # About one message per second per channel, and a workspace budget of a few hundred a minute.
    pacing=RateLimit(per_target=1.0, per_second=5.0),
    # chat.update is Tier 3 (about 50 a minute per workspace): 45 a minute, one a second per channel at most.
    edit_pacing=RateLimit(per_target=1.0, per_second=0.75),
    channel_marks=("<#",),
    command_hint="Slack: `/cercle <command>`",
    cli=("adapters.slack.oauth.cli:register",),  # cercle workspace forget
)
