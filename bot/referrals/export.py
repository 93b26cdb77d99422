"""`cercle export nominations` (HR's queue as CSV), and the referrals' part of `cercle export person`.

Both keep the same confidentiality as the commands: the nominations CSV names a nominee and shows
the argument only once they consented; a person's export holds what they may see themselves
(their nominations as nominator and nominee, HR notes only when shared with them).
"""

from __future__ import annotations

import csv
import sys
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

import click
from sqlmodel import Session, col, select

from bot import identity
from bot.personal_data import iso
from bot.referrals import service
from bot.settings import Settings
from storage.tables import Nomination, Position

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
        writer.writerow((service.nomination_code(nomination.id), service.position_code(position.id), position.title,
                         position.site, position.team, nomination.state, nominator,
                         identity.display_name(session, nomination.nominee_id, missing="") if identified else "",
                         nomination.argument if identified else "", iso(nomination.created_at),
                         iso(nomination.updated_at), max(0, (now - nomination.updated_at).days)))
        count += 1
    return count


def _history(session: Session, nomination: Nomination, v: service.Viewer) -> list[dict[str, str]]:
    out = []
    for event in service.events(session, nomination.id or 0):
        item = {"at": iso(event.at), "state": service.shown_state(event.to_state, nomination, v)}
        if event.note and event.shared:
            item["note"] = event.note
        out.append(item)
    return out


def personal_data(session: Session, settings: Settings, person_id: int) -> dict[str, Any]:
    """The referrals' part of a person's export: their nominations as nominator and as nominee, as they
    may see them (a decline is only "closed" to the nominator; HR notes only when shared with them)."""
    made, about = service.own_nominations(session, person_id)
    as_nominator = service.Viewer(is_nominator=True, is_nominee=False, is_hr=False)
    as_nominee = service.Viewer(is_nominator=False, is_nominee=True, is_hr=False)

    def nomination(n: Nomination, v: service.Viewer) -> dict[str, Any]:
        position = session.get(Position, n.position_id)
        item: dict[str, Any] = {"code": service.nomination_code(n.id), "position": service.position_code(n.position_id),
                                "position_title": position.title if position else "",
                                "state": service.shown_state(n.state, n, v), "argument": n.argument,
                                "created_at": iso(n.created_at), "history": _history(session, n, v)}
        if v.is_nominator:
            item["nominee"] = identity.display_name(session, n.nominee_id, missing="")
        else:
            item["nominator"] = identity.display_name(session, n.nominator_id, missing="")
        return item

    return {"nominations_made": [nomination(n, as_nominator) for n in made],
            "nominations_received": [nomination(n, as_nominee) for n in about]}


def register(cli: click.Group) -> None:
    """Add `nominations` to `cercle export` (`cercle export person` is the core's, with our part)."""
    export = cli.commands["export"]
    assert isinstance(export, click.Group)

    @export.command("nominations")
    @click.option("--csv", "as_csv", is_flag=True, default=True, help="CSV (the only format; the default).")
    @click.option("--output", type=click.Path(dir_okay=False, writable=True), default=None,
                  help="Write to this file instead of standard output.")
    def export_nominations(as_csv: bool, output: str | None) -> None:
        """HR: every nomination as CSV (nominee and argument only once consented)."""
        from bot.cli import _build, _settings
        from storage.db import session_scope

        app = _build(_settings())
        with session_scope(app.engine) as session:
            if output:
                with Path(output).open("w", newline="", encoding="utf-8") as handle:
                    count = write_nominations_csv(session, handle, app.clock.now())
                click.echo(f"{count} nomination(s) written to {output}", err=True)
            else:
                write_nominations_csv(session, sys.stdout, app.clock.now())
