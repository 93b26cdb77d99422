"""Typed settings read from the environment and a `.env` file (design §4.2).

A wrong value stops the start with one line naming the setting, so an operator
fixes the right thing instead of reading a traceback.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

SUPPORTED_LOCALES = ("en", "fr")
PLATFORMS = ("slack", "matrix", "console")


class SettingsError(ValueError):
    """A setting has a value the bot cannot use; the message names the setting."""

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"{name}: {problem}")
        self.name = name
        self.problem = problem


@dataclass(frozen=True)
class AccountSpec:
    """An account written in `CERCLE_ADMINS` form: `slack:T123:U456`, `matrix:@a:hs`, `console:alice`."""

    platform: str
    workspace: str
    user_id: str

    def __str__(self) -> str:
        if self.platform == "slack":
            return f"slack:{self.workspace}:{self.user_id}"
        return f"{self.platform}:{self.user_id}"


def matrix_workspace(user_id: str) -> str:
    """The Matrix "workspace" of an account is its homeserver name."""
    return user_id.split(":", 1)[1] if ":" in user_id else ""


CONSOLE_WORKSPACE = "local"
_MXID = re.compile(r"^@[a-z0-9._=\-/+]+:[A-Za-z0-9.\-]+(:\d+)?$")
_SLACK_ID = re.compile(r"^[A-Z0-9]{2,}$")
_CONSOLE_NAME = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")


def parse_account_spec(text: str) -> AccountSpec:
    """Parse one entry of `CERCLE_ADMINS`; raises ValueError with the reason."""
    platform, _, rest = text.strip().partition(":")
    if platform == "slack":
        workspace, _, user = rest.partition(":")
        if not (_SLACK_ID.match(workspace) and _SLACK_ID.match(user)):
            raise ValueError(f"'{text}' is not slack:<team id>:<user id>")
        return AccountSpec("slack", workspace, user)
    if platform == "matrix":
        if not _MXID.match(rest):
            raise ValueError(f"'{text}' is not matrix:@user:server")
        return AccountSpec("matrix", matrix_workspace(rest), rest)
    if platform == "console":
        if not _CONSOLE_NAME.match(rest):
            raise ValueError(f"'{text}' is not console:<name>")
        return AccountSpec("console", CONSOLE_WORKSPACE, rest.lower())  # console names ignore case
    raise ValueError(f"'{text}' does not start with slack:, matrix: or console:")


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///cercle.db"
    admins: tuple[AccountSpec, ...] = ()
    locale: str = "en"
    timezone: str = "Europe/Paris"
    http_host: str = "127.0.0.1"
    http_port: int = 3000
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = None  # None: /metrics on the main listener (loopback callers or the token only)
    metrics_token: str | None = field(default=None, repr=False)
    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_url: str = "https://slack.com/api/"
    slack_command: str = "/cercle"
    matrix_homeserver: str | None = None
    matrix_user_id: str | None = None
    matrix_password: str | None = field(default=None, repr=False)
    matrix_access_token: str | None = field(default=None, repr=False)
    matrix_prefix: str = "!cercle"
    matrix_allowed_servers: tuple[str, ...] = ()
    secret_keys: tuple[str, ...] = field(default=(), repr=False)  # CERCLE_SECRET_KEY, newest first

    def __repr__(self) -> str:  # secrets never reach logs
        hidden = {"slack_bot_token", "slack_signing_secret", "slack_app_token", "matrix_password",
                  "matrix_access_token", "database_url", "secret_keys", "metrics_token"}
        parts = []
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if name in hidden and value:
                value = "***"
            parts.append(f"{name}={value!r}")
        return f"Settings({', '.join(parts)})"

    @property
    def slack_enabled(self) -> bool:
        return bool(self.slack_bot_token and self.slack_signing_secret)

    @property
    def matrix_enabled(self) -> bool:
        return bool(self.matrix_homeserver and self.matrix_user_id
                    and (self.matrix_password or self.matrix_access_token))

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def _read(env: Mapping[str, str | None], name: str) -> str | None:
    value = env.get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def load_settings(env: Mapping[str, str | None] | None = None, dotenv_path: str | Path | None = ".env",
                  ) -> Settings:
    """Build settings from `env` (default: the process environment over the `.env` file)."""
    if env is None:
        merged: dict[str, str | None] = {}
        if dotenv_path and Path(dotenv_path).is_file():
            merged.update(dotenv_values(dotenv_path))
        merged.update(os.environ)
        env = merged

    kwargs: dict[str, Any] = {}

    url = _read(env, "CERCLE_DATABASE_URL")
    if url:
        try:
            parsed = make_url(url)
        except ArgumentError:
            raise SettingsError("CERCLE_DATABASE_URL", f"'{url}' is not a database URL") from None
        if parsed.get_backend_name() not in ("sqlite", "postgresql"):
            raise SettingsError("CERCLE_DATABASE_URL", "only sqlite:/// and postgresql+psycopg:// are supported")
        if parsed.get_backend_name() == "postgresql" and parsed.drivername != "postgresql+psycopg":
            if not url.startswith(("postgresql://", "postgres://")):
                raise SettingsError("CERCLE_DATABASE_URL", "use the psycopg driver: postgresql+psycopg://...")
            url = "postgresql+psycopg://" + url.split("://", 1)[1]
        kwargs["database_url"] = url

    admins = _read(env, "CERCLE_ADMINS")
    if admins:
        specs = []
        for item in admins.split(","):
            if not item.strip():
                continue
            try:
                specs.append(parse_account_spec(item))
            except ValueError as exc:
                raise SettingsError("CERCLE_ADMINS", str(exc)) from None
        kwargs["admins"] = tuple(specs)

    locale = _read(env, "CERCLE_LOCALE")
    if locale:
        if locale not in SUPPORTED_LOCALES:
            raise SettingsError("CERCLE_LOCALE", f"'{locale}' is not one of {', '.join(SUPPORTED_LOCALES)}")
        kwargs["locale"] = locale

    tz = _read(env, "CERCLE_TIMEZONE")
    if tz:
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise SettingsError("CERCLE_TIMEZONE", f"'{tz}' is not an IANA time zone") from None
        kwargs["timezone"] = tz

    host = _read(env, "CERCLE_HTTP_HOST")
    if host:
        kwargs["http_host"] = host
    port = _read(env, "CERCLE_HTTP_PORT")
    if port:
        if not port.isdigit() or not 0 <= int(port) <= 65535:
            raise SettingsError("CERCLE_HTTP_PORT", f"'{port}' is not a port number")
        kwargs["http_port"] = int(port)

    _read_metrics(env, kwargs)

    for name, key in (("SLACK_BOT_TOKEN", "slack_bot_token"), ("SLACK_SIGNING_SECRET", "slack_signing_secret"),
                      ("SLACK_APP_TOKEN", "slack_app_token"), ("MATRIX_HOMESERVER", "matrix_homeserver"),
                      ("MATRIX_USER_ID", "matrix_user_id"), ("MATRIX_PASSWORD", "matrix_password"),
                      ("MATRIX_ACCESS_TOKEN", "matrix_access_token")):
        value = _read(env, name)
        if value:
            kwargs[key] = value

    token = kwargs.get("slack_bot_token")
    if token and not str(token).startswith("xoxb-"):
        raise SettingsError("SLACK_BOT_TOKEN", "a bot token starts with xoxb-")
    app_token = kwargs.get("slack_app_token")
    if app_token and not str(app_token).startswith("xapp-"):
        raise SettingsError("SLACK_APP_TOKEN", "an app-level token starts with xapp-")
    if bool(kwargs.get("slack_bot_token")) != bool(kwargs.get("slack_signing_secret")):
        missing = "SLACK_SIGNING_SECRET" if kwargs.get("slack_bot_token") else "SLACK_BOT_TOKEN"
        raise SettingsError(missing, "Slack needs both SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET")

    api = _read(env, "SLACK_API_URL")
    if api:
        if not re.match(r"^https?://", api):
            raise SettingsError("SLACK_API_URL", f"'{api}' is not an http(s) URL")
        kwargs["slack_api_url"] = api if api.endswith("/") else api + "/"

    command = _read(env, "CERCLE_SLACK_COMMAND")
    if command:
        if not re.match(r"^/[a-z0-9_\-]{1,31}$", command):
            raise SettingsError("CERCLE_SLACK_COMMAND", f"'{command}' is not a slash command like /cercle")
        kwargs["slack_command"] = command

    hs = kwargs.get("matrix_homeserver")
    if hs and not re.match(r"^https?://", str(hs)):
        raise SettingsError("MATRIX_HOMESERVER", f"'{hs}' is not an http(s) URL")
    mxid = kwargs.get("matrix_user_id")
    if mxid and not _MXID.match(str(mxid)):
        raise SettingsError("MATRIX_USER_ID", f"'{mxid}' is not a Matrix user id like @cercle:example.org")
    if hs and not (kwargs.get("matrix_password") or kwargs.get("matrix_access_token")):
        raise SettingsError("MATRIX_PASSWORD", "set MATRIX_PASSWORD or MATRIX_ACCESS_TOKEN")
    if hs and not mxid:
        raise SettingsError("MATRIX_USER_ID", "Matrix needs MATRIX_USER_ID")

    prefix = _read(env, "CERCLE_MATRIX_PREFIX")
    if prefix:
        if " " in prefix:
            raise SettingsError("CERCLE_MATRIX_PREFIX", "the prefix is one word, like !cercle")
        kwargs["matrix_prefix"] = prefix

    servers = _read(env, "CERCLE_MATRIX_ALLOWED_SERVERS")
    if servers:
        kwargs["matrix_allowed_servers"] = tuple(s.strip() for s in servers.split(",") if s.strip())

    secret = _read(env, "CERCLE_SECRET_KEY")
    if secret:
        from bot.secret_box import check_key_setting

        try:
            kwargs["secret_keys"] = check_key_setting(secret)
        except ValueError as exc:
            raise SettingsError("CERCLE_SECRET_KEY", str(exc)) from None

    return Settings(**kwargs)


def _read_metrics(env: Mapping[str, str | None], kwargs: dict[str, Any]) -> None:
    """CERCLE_METRICS_HOST/PORT (a listener of its own for /metrics) and CERCLE_METRICS_TOKEN (a bearer token)."""
    host = _read(env, "CERCLE_METRICS_HOST")
    if host:
        kwargs["metrics_host"] = host
    port = _read(env, "CERCLE_METRICS_PORT")
    if port:
        if not port.isdigit() or not 1 <= int(port) <= 65535:
            raise SettingsError("CERCLE_METRICS_PORT", f"'{port}' is not a port number")
        if int(port) == kwargs.get("http_port", Settings.http_port):
            raise SettingsError("CERCLE_METRICS_PORT", "must differ from CERCLE_HTTP_PORT")
        kwargs["metrics_port"] = int(port)
    token = _read(env, "CERCLE_METRICS_TOKEN")
    if token:
        if len(token) < 24 or any(c.isspace() for c in token):
            raise SettingsError("CERCLE_METRICS_TOKEN", "use 24 characters or more, no spaces "
                                                        "(e.g. `openssl rand -hex 24`)")
        kwargs["metrics_token"] = token
