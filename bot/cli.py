"""The `cercle` command (design §4.3)."""

from __future__ import annotations

import asyncio
import gc
import getpass
import logging
import re
import sys
from dataclasses import replace
from typing import TYPE_CHECKING

import click

from bot.settings import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from bot.app import Application
    from bot.platforms import Platforms


def _platforms() -> Platforms:
    from bot.app import default_platforms

    return default_platforms()


def _settings() -> Settings:
    try:
        return load_settings(platforms=_platforms())
    except SettingsError as exc:
        click.echo(f"cercle: invalid setting {exc}", err=True)
        sys.exit(2)


def _setup_logging(verbose: bool) -> None:
    from bot.logs import configure

    configure(logging.DEBUG if verbose else logging.INFO)


def _default_user() -> str:
    try:
        name = getpass.getuser()
    except Exception:
        name = "me"
    name = re.sub(r"[^A-Za-z0-9._\-]", "", name)[:64]
    return name or "me"


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="More log lines.")
def main(verbose: bool) -> None:
    """Cercle: communities, talent referrals and crisis announcements in Slack and Matrix."""
    _setup_logging(verbose)


@main.command()
def run() -> None:
    """Start every configured platform; with none, the console on the embedded database."""
    from bot.app import run_console, serve

    settings = _settings()
    if settings.configured():
        asyncio.run(serve(_build(settings)))
    else:
        names = " or ".join(p.display_name for p in _platforms() if p.build is not None)
        click.echo(f"No {names} settings found: starting the console. Type help, or :as <name>.", err=True)
        user = _default_user()
        settings = _console_admin(settings, user)
        asyncio.run(run_console(_build(settings), user=user, channel="general"))


@main.command()
@click.option("--user", default=None, help="Who is typing (default: your login name).")
@click.option("--channel", default="general", help="The channel you type in (default: general).")
def console(user: str | None, channel: str) -> None:
    """Read commands from standard input (a terminal or a pipe) and print the replies."""
    from adapters.console.platform import valid_name
    from bot.app import run_console

    settings = _settings()
    name = (user or _default_user()).lstrip("@")
    if not valid_name(name):
        raise click.BadParameter("letters, digits, dots, dashes and underscores only", param_hint="--user")
    chan = channel.lstrip("#")
    if not valid_name(chan):
        raise click.BadParameter("letters, digits, dots, dashes and underscores only", param_hint="--channel")
    app = _build(_console_admin(settings, name))
    asyncio.run(run_console(app, user=name, channel=chan))


def _console_admin(settings: Settings, user: str) -> Settings:
    """With no CERCLE_ADMINS, whoever starts the console administers it (they hold the database anyway),
    so a first try can grant roles; on Slack and Matrix admins always come from CERCLE_ADMINS."""
    if settings.admins:
        return settings
    from bot.app import CONSOLE

    click.echo(f"No CERCLE_ADMINS: console user '{user}' is an administrator in this console.", err=True)
    return replace(settings, admins=(_platforms().parse_account(f"{CONSOLE}:{user}"),))


@main.group()
def db() -> None:
    """Database tasks."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply the migrations (also done at start)."""
    from storage.db import make_engine
    from storage.migrate import current_heads, upgrade

    settings = _settings()
    _started()
    engine = make_engine(settings.database_url)
    try:
        upgrade(engine)
    except Exception as exc:
        click.echo(f"cercle: cannot upgrade the database: {type(exc).__name__}: {_first_line(exc)}", err=True)
        sys.exit(1)
    click.echo(f"database at revision {', '.join(sorted(current_heads(engine)))}")


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else ""


def _build(settings: Settings) -> Application:
    from bot.app import build

    try:
        return build(settings)
    except Exception as exc:
        click.echo(f"cercle: cannot open the database (CERCLE_DATABASE_URL): {type(exc).__name__}: "
                   f"{_first_line(exc)}", err=True)
        sys.exit(1)
    finally:
        _started()


def _started() -> None:
    """Start-up is over: the garbage collector paused by `bot.start` runs again; what start-up made stays,
    so later collections need not look at it."""
    if not gc.isenabled():
        gc.freeze()
        gc.enable()




@main.group()
def export() -> None:
    """Export data (CSV or JSON) for HR, communicators, or a person's own data."""


def _register_capability_commands() -> None:
    import importlib

    from bot import capabilities

    for name in capabilities.CLI_MODULES:
        importlib.import_module(name).register(main)


_register_capability_commands()


if __name__ == "__main__":
    main()
