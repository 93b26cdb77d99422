"""`cercle export nominations` (HR's queue as CSV) and `cercle export person` (a person's own data).

Both keep the same confidentiality as the commands: the nominations CSV names a nominee and shows
the argument only once they consented; a person's export holds what they may see themselves
(their nominations as nominator and nominee, HR notes only when shared with them).
"""

from __future__ import annotations

import csv
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

import click
from sqlmodel import Session, col, select

from bot import identity
from bot.permissions import roles_of
from bot.referrals import service
from bot.settings import Settings
from storage.tables import Account, Community, Membership, Nomination, Person, PersonSkill, Position

CSV_COLUMNS = ("nomination", "position", "position_title", "site", "team", "state", "nominator", "nominee",
               "argument", "created_at", "updated_at", "days_in_state")


def _name(session: Session, person_id: int | None) -> str:
    person = session.get(Person, person_id) if person_id is not None else None
    return person.display_name if person else ""


def _iso(moment: datetime | None) -> str:
    return moment.isoformat() if moment else ""


def write_nominations_csv(session: Session, out: TextIO, now: datetime) -> int:
    """Every nomination, for HR. Returns the number of rows written."""
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    rows = session.exec(select(Nomination, Position).join(Position, col(Position.id) == Nomination.position_id)
                        .order_by(col(Nomination.id)))
    count = 0
    for nomination, position in rows:
        identified = service.hr_may_identify(nomination)
        writer.writerow((service.nomination_code(nomination.id), service.position_code(position.id), position.title,
                         position.site, position.team, nomination.state, _name(session, nomination.nominator_id),
                         _name(session, nomination.nominee_id) if identified else "",
                         nomination.argument if identified else "", _iso(nomination.created_at),
                         _iso(nomination.updated_at), max(0, (now - nomination.updated_at).days)))
        count += 1
    return count


def _history(session: Session, nomination: Nomination, v: service.Viewer) -> list[dict[str, str]]:
    out = []
    for event in service.events(session, nomination.id or 0):
        state = event.to_state
        if state == service.DECLINED and not v.is_nominee:
            state = "closed"
        item = {"at": _iso(event.at), "state": state}
        if event.note and event.shared:
            item["note"] = event.note
        out.append(item)
    return out


def person_data(session: Session, settings: Settings, person: Person) -> dict[str, Any]:
    """What Cercle holds about a person that they may see: no one else's confidential data."""
    assert person.id is not None
    pid = person.id
    accounts = session.exec(select(Account).where(Account.person_id == pid).order_by(col(Account.id)))
    memberships = session.exec(select(Membership, Community).join(Community, col(Community.id) ==
                                                                  Membership.community_id)
                               .where(Membership.person_id == pid).order_by(Community.slug))
    made, about = service.own_nominations(session, pid)
    as_nominator = service.Viewer(is_nominator=True, is_nominee=False, is_hr=False)
    as_nominee = service.Viewer(is_nominator=False, is_nominee=True, is_hr=False)

    def nomination(n: Nomination, v: service.Viewer) -> dict[str, Any]:
        position = session.get(Position, n.position_id)
        state = "closed" if (n.state == service.DECLINED and not v.is_nominee) else n.state
        item: dict[str, Any] = {"code": service.nomination_code(n.id), "position": service.position_code(n.position_id),
                                "position_title": position.title if position else "", "state": state,
                                "argument": n.argument, "created_at": _iso(n.created_at),
                                "history": _history(session, n, v)}
        if v.is_nominator:
            item["nominee"] = _name(session, n.nominee_id)
        else:
            item["nominator"] = _name(session, n.nominator_id)
        return item

    return {
        "person": {"display_name": person.display_name, "site": person.site, "locale": person.locale,
                   "timezone": person.timezone, "created_at": _iso(person.created_at)},
        "accounts": [f"{a.platform}:{a.workspace}:{a.user_id}" for a in accounts],
        "roles": sorted(r.value for r in roles_of(session, pid, settings)),
        "skills": sorted(s.skill for s in session.exec(select(PersonSkill).where(PersonSkill.person_id == pid))),
        "communities": [{"slug": c.slug, "name": c.name, "manager": m.is_manager, "joined_at": _iso(m.joined_at)}
                        for m, c in memberships],
        "nominations_made": [nomination(n, as_nominator) for n in made],
        "nominations_received": [nomination(n, as_nominee) for n in about],
    }


def _as_text(data: dict[str, Any]) -> str:
    lines = []
    for key, value in data.items():
        if isinstance(value, dict):
            lines.append(f"{key}:")
            lines.extend(f"  {k}: {v}" for k, v in value.items())
        elif isinstance(value, list):
            lines.append(f"{key}: {len(value)}")
            for item in value:
                if isinstance(item, dict):
                    lines.append("  - " + "; ".join(f"{k}: {v}" for k, v in item.items() if k != "history"))
                    lines.extend(f"      {h['at']} {h['state']}" + (f" — {h['note']}" if "note" in h else "")
                                 for h in item.get("history", []))
                else:
                    lines.append(f"  - {item}")
        else:
            lines.append(f"{key}: {value}")
    return "\n".join(lines)


def register(cli: click.Group) -> None:
    """Add `nominations` and `person` to `cercle export`."""
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

    @export.command("person")
    @click.argument("account")
    @click.option("--json", "as_json", is_flag=True, help="JSON instead of text.")
    def export_person(account: str, as_json: bool) -> None:
        """A person's own data: ACCOUNT like console:alice, slack:T1:U1, matrix:@a:hs."""
        from bot.cli import _build, _platforms, _settings
        from storage.db import session_scope

        try:
            spec = _platforms().parse_account(account)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="ACCOUNT") from None
        settings = _settings()
        app = _build(settings)
        with session_scope(app.engine) as session:
            found = identity.find_account(session, spec.platform, spec.workspace, spec.user_id)
            person = session.get(Person, found.person_id) if found else None
            if person is None:
                click.echo(f"cercle: no account {account} is known", err=True)
                sys.exit(1)
            data = person_data(session, settings, person)
        click.echo(json.dumps(data, ensure_ascii=False, indent=2) if as_json else _as_text(data))
