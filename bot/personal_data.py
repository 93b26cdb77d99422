"""A person's own data (`cercle export person`): what Cercle holds about them that they may see.

The core exports the person, their accounts and roles; each capability adds its part through its
`Capability.export`: a function `(session, settings, person_id) -> {key: value}`, whose keys follow the
core's in the assembly's order. A part holds only what the person may see themselves (no one else's
confidential data), with the same rules as the capability's commands.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from bot.permissions import roles_of
from bot.settings import Settings
from storage.tables import Account, Person

PersonPart = Callable[[Session, Settings, int], dict[str, Any]]


def iso(moment: datetime | None) -> str:
    """A time as exported: ISO 8601, or empty."""
    return moment.isoformat() if moment else ""


def person_data(session: Session, settings: Settings, person: Person, parts: Iterable[PersonPart]) -> dict[str, Any]:
    """The core's part, then each capability's."""
    assert person.id is not None
    pid = person.id
    accounts = session.exec(select(Account).where(Account.person_id == pid).order_by(col(Account.id)))
    data: dict[str, Any] = {
        "person": {"display_name": person.display_name, "site": person.site, "locale": person.locale,
                   "timezone": person.timezone, "created_at": iso(person.created_at)},
        "accounts": [f"{a.platform}:{a.workspace}:{a.user_id}" for a in accounts],
        "roles": sorted(r.value for r in roles_of(session, pid, settings)),
    }
    for part in parts:
        for key, value in part(session, settings, pid).items():
            if key in data:
                raise ValueError(f"two parts of the personal data export use the key {key!r}")
            data[key] = value
    return data


def as_text(data: dict[str, Any]) -> str:
    """The export for a terminal: one line per value, one per list item, a nomination's history indented."""
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
