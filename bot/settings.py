"""Typed settings read from the environment and a `.env` file (design §4.2).

A wrong value stops the start with one line naming the setting, so an operator
fixes the right thing instead of reading a traceback. The core's settings are here;
each platform reads its own section (`adapters/<x>/platform.py`), asked by `load_settings`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

if TYPE_CHECKING:
    from bot.platforms import Platforms, PlatformSection

SUPPORTED_LOCALES = ("en", "fr")


class SettingsError(ValueError):
    """A setting has a value the bot cannot use; the message names the setting."""

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"{name}: {problem}")
        self.name = name
        self.problem = problem


@dataclass(frozen=True)
class AccountSpec:
    """An account written in `CERCLE_ADMINS` form (`<platform>:...`, as its platform's descriptor reads it)."""

    platform: str
    workspace: str
    user_id: str
    written: str = field(default="", compare=False)  # as the platform writes it: "slack:T1:U2"

    def __str__(self) -> str:
        return self.written or f"{self.platform}:{self.user_id}"


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
    secret_keys: tuple[str, ...] = field(default=(), repr=False)  # CERCLE_SECRET_KEY, newest first
    nomination_retention_days: int = 365  # CERCLE_NOMINATION_RETENTION_DAYS: finished nominations' argument and notes
    nominations_per_day: int = 10  # CERCLE_NOMINATIONS_PER_DAY: nominations one person may make in 24 hours
    # Each platform's own settings, by platform name (read by its descriptor; their repr hides secrets).
    sections: Mapping[str, PlatformSection] = field(default_factory=dict, hash=False)

    def __repr__(self) -> str:  # secrets never reach logs
        hidden = {"database_url", "secret_keys", "metrics_token"}
        parts = []
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if name in hidden and value:
                value = "***"
            parts.append(f"{name}={value!r}")
        return f"Settings({', '.join(parts)})"

    def section(self, platform: str) -> Any:
        """The settings section of `platform` (None when its descriptor was not loaded)."""
        return self.sections.get(platform)

    def with_section(self, platform: str, section: PlatformSection) -> Settings:
        return replace(self, sections={**self.sections, platform: section})

    def configured(self) -> tuple[str, ...]:
        """The platforms whose settings are present (`cercle run` starts them)."""
        return tuple(name for name, section in self.sections.items() if section.configured)

    def secrets(self) -> list[str]:
        """Every secret value (database password, keys, platform tokens): the log redactor removes them."""
        values = [make_url(self.database_url).password, self.metrics_token, *self.secret_keys]
        for section in self.sections.values():
            values.extend(section.secrets())
        return [v for v in values if v]

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def read_env(env: Mapping[str, str | None], name: str) -> str | None:
    """A variable's value, stripped; None when unset or blank."""
    value = env.get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def load_settings(env: Mapping[str, str | None] | None = None, dotenv_path: str | Path | None = ".env", *,
                  platforms: Platforms) -> Settings:
    """Build settings from `env` (default: the process environment over the `.env` file); every platform
    of `platforms` reads its section."""
    if env is None:
        merged: dict[str, str | None] = {}
        if dotenv_path and Path(dotenv_path).is_file():
            from dotenv import dotenv_values  # only when there is a file to read

            merged.update(dotenv_values(dotenv_path))
        merged.update(os.environ)
        env = merged

    kwargs: dict[str, Any] = {}

    url = read_env(env, "CERCLE_DATABASE_URL")
    if url:
        kwargs["database_url"] = _database_url(url)

    admins = read_env(env, "CERCLE_ADMINS")
    if admins:
        specs = []
        for item in admins.split(","):
            if not item.strip():
                continue
            try:
                specs.append(platforms.parse_account(item))
            except ValueError as exc:
                raise SettingsError("CERCLE_ADMINS", str(exc)) from None
        kwargs["admins"] = tuple(specs)

    locale = read_env(env, "CERCLE_LOCALE")
    if locale:
        if locale not in SUPPORTED_LOCALES:
            raise SettingsError("CERCLE_LOCALE", f"'{locale}' is not one of {', '.join(SUPPORTED_LOCALES)}")
        kwargs["locale"] = locale

    tz = read_env(env, "CERCLE_TIMEZONE")
    if tz:
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise SettingsError("CERCLE_TIMEZONE", f"'{tz}' is not an IANA time zone") from None
        kwargs["timezone"] = tz

    host = read_env(env, "CERCLE_HTTP_HOST")
    if host:
        kwargs["http_host"] = host
    port = read_env(env, "CERCLE_HTTP_PORT")
    if port:
        if not port.isdigit() or not 0 <= int(port) <= 65535:
            raise SettingsError("CERCLE_HTTP_PORT", f"'{port}' is not a port number")
        kwargs["http_port"] = int(port)

    _read_metrics(env, kwargs)
    per_day = read_env(env, "CERCLE_NOMINATIONS_PER_DAY")
    if per_day:
        if not per_day.isdigit() or not 1 <= int(per_day) <= 10000:
            raise SettingsError("CERCLE_NOMINATIONS_PER_DAY", f"'{per_day}' is not a number from 1 to 10000")
        kwargs["nominations_per_day"] = int(per_day)

    days = read_env(env, "CERCLE_NOMINATION_RETENTION_DAYS")
    if days:
        if not days.isdigit() or int(days) < 1:
            raise SettingsError("CERCLE_NOMINATION_RETENTION_DAYS", f"'{days}' is not a number of days (1 or more)")
        kwargs["nomination_retention_days"] = int(days)

    kwargs["sections"] = {descriptor.name: descriptor.read_settings(env) for descriptor in platforms}

    secret = read_env(env, "CERCLE_SECRET_KEY")
    if secret:
        from bot.secret_box import check_key_setting

        try:
            kwargs["secret_keys"] = check_key_setting(secret)
        except ValueError as exc:
            raise SettingsError("CERCLE_SECRET_KEY", str(exc)) from None

    return Settings(**kwargs)


def _read_metrics(env: Mapping[str, str | None], kwargs: dict[str, Any]) -> None:
    """CERCLE_METRICS_HOST/PORT (a listener of its own for /metrics) and CERCLE_METRICS_TOKEN (a bearer token)."""
    host = read_env(env, "CERCLE_METRICS_HOST")
    if host:
        kwargs["metrics_host"] = host
    port = read_env(env, "CERCLE_METRICS_PORT")
    if port:
        if not port.isdigit() or not 1 <= int(port) <= 65535:
            raise SettingsError("CERCLE_METRICS_PORT", f"'{port}' is not a port number")
        if int(port) == kwargs.get("http_port", Settings.http_port):
            raise SettingsError("CERCLE_METRICS_PORT", "must differ from CERCLE_HTTP_PORT")
        kwargs["metrics_port"] = int(port)
    token = read_env(env, "CERCLE_METRICS_TOKEN")
    if token:
        if len(token) < 24 or any(c.isspace() for c in token):
            raise SettingsError("CERCLE_METRICS_TOKEN", "use 24 characters or more, no spaces "
                                                        "(e.g. `openssl rand -hex 24`)")
        kwargs["metrics_token"] = token


def _database_url(url: str) -> str:
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
    return url
