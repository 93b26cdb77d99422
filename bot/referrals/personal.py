"""The referrals' part of a person's own data (`cercle export person`): their nominations as nominator
and as nominee, as they may see them: a decline is only "closed" to the nominator, HR notes only when
shared with them.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from bot import identity
from bot.personal_data import iso
from bot.referrals import service
from bot.settings import Settings
from storage.tables import Nomination, Position


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
