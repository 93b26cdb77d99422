"""`cercle export nominations`: HR's queue as CSV, with the confidentiality of the commands (a nominee is
named, and the argument shown, only once they consented). The referrals' part of `cercle export person`
is `bot.referrals.personal`.
"""

from __future__ import annotations

import csv
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import click
from sqlmodel import Session, col, select

from bot import identity
from bot.personal_data import iso
from bot.referrals import service
from storage.tables import Nomination, Position

if TYPE_CHECKING:
    from bot.capability import CommandLine

# A cell a spreadsheet would read as a formula (or that starts a new cell on import): prefixed with `'`.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: object) -> object:
    """`value` as a CSV cell HR can open in a spreadsheet safely: text starting like a formula is quoted
    (OWASP's CSV injection advice); numbers are left as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


CSV_COLUMNS = ("nomination", "position", "position_title", "site", "team", "state", "nominator", "nominee",
               "argument", "created_at", "updated_at", "days_in_state")


def write_nominations_csv(session: Session, out: TextIO, now: datetime) -> int:
    """Every nomination, for HR. Returns the number of rows written."""
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    rows = session.exec(select(Nomination, Position).join(Position, col(Position.id) == Nomination.position_id)
                        .order_by(col(Nomination.id)))
    count = 0
    for nomination, position in rows:
        identified = service.hr_may_identify(nomination)
        nominator = identity.display_name(session, nomination.nominator_id, missing="")
        values = (service.nomination_code(nomination.id), service.position_code(position.id), position.title,
                  position.site, position.team, nomination.state, nominator,
                  identity.display_name(session, nomination.nominee_id, missing="") if identified else "",
                  nomination.argument if identified else "", iso(nomination.created_at),
                  iso(nomination.updated_at), max(0, (now - nomination.updated_at).days))
        writer.writerow(cell(value) for value in values)
        count += 1
    return count


def register(cli: click.Group) -> None:
    """Add `nominations` to `cercle export` (`cercle export person` is the core's, with our part)."""
    export = cli.commands["export"]
    assert isinstance(export, click.Group)

    @export.command("nominations")
    @click.option("--csv", "as_csv", is_flag=True, default=True, help="CSV (the only format; the default).")
    @click.option("--output", type=click.Path(dir_okay=False, writable=True), default=None,
                  help="Write to this file instead of standard output.")
    @click.pass_obj
    def export_nominations(cli: CommandLine, as_csv: bool, output: str | None) -> None:
        """HR: every nomination as CSV (nominee and argument only once consented)."""
        from storage.db import session_scope

        app = cli.application()
        with session_scope(app.engine) as session:
            if output:
                with Path(output).open("w", newline="", encoding="utf-8") as handle:
                    count = write_nominations_csv(session, handle, app.clock.now())
                click.echo(f"{count} nomination(s) written to {output}", err=True)
            else:
                write_nominations_csv(session, sys.stdout, app.clock.now())
