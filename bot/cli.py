"""The `cercle` command (design §4.3)."""

from __future__ import annotations

import asyncio
import gc
import getpass
import logging
import re
import signal
import sys
from dataclasses import replace
from typing import TYPE_CHECKING

import click

from bot.backup import register as register_backup_commands
from bot.settings import AccountSpec, Settings, SettingsError, load_settings

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


def _terminated(signum: int, _frame: object) -> None:
    """SIGTERM before `serve()` handles it (the migrations at start): end at once, unwinding what is open (a
    migration's transaction rolls back). Where the process is PID 1 (a container) the kernel ignores a signal
    it does not handle, and Kubernetes would wait for the grace period, then SIGKILL it."""
    raise SystemExit(128 + signum)


def _default_user() -> str:
    try:
        name = getpass.getuser()
    except Exception:
        name = "me"
    name = re.sub(r"[^A-Za-z0-9._\-]", "", name)[:64]
    return name or "me"


class FullHelpGroup(click.Group):
    """A group whose help lists each subcommand with its whole first sentence (click cuts them at 45 characters
    otherwise); the lines wrap instead."""

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            cmd = self.get_command(ctx, name)
            if cmd is not None and not cmd.hidden:
                rows.append((name, cmd.get_short_help_str(limit=1000)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


class CercleGroup(FullHelpGroup):
    """The `cercle` group. The capabilities' subcommands (`Capability.cli`) are imported and added only when
    click looks for a command it does not know yet, or lists them all (help): `cercle run` imports none."""

    _capabilities_added = False

    def _add_capabilities(self) -> None:
        if not self._capabilities_added:
            self._capabilities_added = True
            from bot.app import default_capabilities
            from bot.capability import resolve

            for capability in default_capabilities():
                for ref in capability.cli:
                    resolve(ref)(self)
            for platform in _platforms():  # a platform's own subcommands (`cercle workspace forget`)
                for ref in platform.cli:
                    resolve(ref)(self)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands or cmd_name == "export":
            self._add_capabilities()
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._add_capabilities()
        return super().list_commands(ctx)


class _CommandLine:
    """`bot.capability.CommandLine`: what subcommands defined elsewhere get as click's context object."""

    def __init__(self, verbose: bool = False) -> None:
        self.verbose = verbose  # `cercle -v`: the console's logging reads it too

    def settings(self) -> Settings:
        return _settings()

    def application(self) -> Application:
        return _build(_settings())


@click.group(cls=CercleGroup)
@click.option("-v", "--verbose", is_flag=True, help="More log lines.")
@click.version_option(package_name="cercle", message="cercle %(version)s")
@click.pass_context
def main(ctx: click.Context, verbose: bool) -> None:
    """Cercle: communities, talent referrals and crisis announcements in Slack and Matrix."""
    _setup_logging(verbose)
    ctx.obj = _CommandLine(verbose)


def _console_logging(log_file: str | None = None) -> None:
    """In the console, log lines never land among the replies (see `bot.logs.configure_console`)."""
    from bot.logs import configure_console

    ctx = click.get_current_context(silent=True)
    configure_console(bool(ctx and getattr(ctx.find_root().obj, "verbose", False)), log_file)


@main.command()
def run() -> None:
    """Start every configured platform; with none, the console on the embedded database."""
    from bot.app import run_console, serve

    settings = _settings()
    if settings.configured():
        signal.signal(signal.SIGTERM, _terminated)  # until serve() handles it
        asyncio.run(serve(_build(settings)))
    else:
        _console_logging()
        names = " or ".join(p.display_name for p in _platforms() if p.build is not None)
        click.echo(f"No {names} settings found: starting the console. Type help, or :as <name>.", err=True)
        user = _default_user()
        settings = _console_admin(settings)
        asyncio.run(run_console(_build(settings), user=user, channel="general"))


@main.command()
@click.option("--user", default=None, help="Who is typing (default: your login name).")
@click.option("--channel", default="general", help="The channel you type in (default: general).")
@click.option("--log-file", default=None, type=click.Path(dir_okay=False, writable=True),
              help="Write the log lines to this file (default: only warnings, on standard error).")
def console(user: str | None, channel: str, log_file: str | None) -> None:
    """Read commands from standard input (a terminal or a pipe) and print the replies."""
    from adapters.console.platform import valid_name
    from bot.app import run_console

    _console_logging(log_file)
    settings = _settings()
    name = (user or _default_user()).lstrip("@").lower()
    if not valid_name(name):
        raise click.BadParameter("letters, digits, dots, dashes and underscores only", param_hint="--user")
    chan = channel.lstrip("#")
    if not valid_name(chan):
        raise click.BadParameter("letters, digits, dots, dashes and underscores only", param_hint="--channel")
    app = _build(_console_admin(settings))
    asyncio.run(run_console(app, user=name, channel=chan))


def _console_admin(settings: Settings) -> Settings:
    """With no CERCLE_ADMINS, everyone in the console administers it: nobody signs in there (`:as` makes
    anyone anyone) and whoever runs it holds the database anyway, so a first try (the README's example) can
    grant roles. On Slack and Matrix administrators always come from CERCLE_ADMINS."""
    from bot.permissions import ANYONE

    if settings.admins:
        return settings
    from adapters.console.platform import WORKSPACE
    from bot.app import CONSOLE

    click.echo("No CERCLE_ADMINS: everyone in this console is an administrator "
               "(set CERCLE_ADMINS=console:<name> to try the roles).", err=True)
    return replace(settings, admins=(AccountSpec(CONSOLE, WORKSPACE, ANYONE, written=f"{CONSOLE}:{ANYONE}"),))


@main.group(cls=FullHelpGroup)
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
        newer = upgrade(engine)
    except Exception as exc:
        click.echo(f"cercle: cannot upgrade the database: {type(exc).__name__}: {_first_line(exc)}", err=True)
        sys.exit(1)
    if newer:
        click.echo(f"database at revision {', '.join(sorted(newer))}, newer than this release: left as it is",
                   err=True)
        return
    click.echo(f"database at revision {', '.join(sorted(current_heads(engine)))}")


register_backup_commands(db)


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


@main.group(cls=FullHelpGroup)
def export() -> None:
    """Export data (CSV or JSON) for HR, communicators, or a person's own data."""


@export.command("person")
@click.argument("account")
@click.option("--json", "as_json", is_flag=True, help="JSON instead of text.")
def export_person(account: str, as_json: bool) -> None:
    """A person's own data: ACCOUNT like console:alice, slack:T1:U1, matrix:@a:hs."""
    import json

    from bot import identity
    from bot.personal_data import as_text, person_data
    from storage.db import session_scope
    from storage.tables import Person

    try:
        spec = _platforms().parse_account(account)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="ACCOUNT") from None
    app = _build(_settings())
    with session_scope(app.engine) as session:
        found = identity.find_account(session, spec.platform, spec.workspace, spec.user_id)
        person = session.get(Person, found.person_id) if found else None
        if person is None:
            click.echo(f"cercle: no account {account} is known", err=True)
            sys.exit(1)
        data = person_data(session, app.settings, person, app.assembly.exporters)
    click.echo(json.dumps(data, ensure_ascii=False, indent=2) if as_json else as_text(data))


if __name__ == "__main__":
    main()
