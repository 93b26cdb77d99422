"""The referrals' part of a person's own data (`cercle export person`): their nominations as nominator
and as nominee, as they may see them: a decline is only "closed" to the nominator, HR notes only when
shared with them. And the referrals' rule when two persons become one (`merge_hook`).
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from bot import identity
from bot.personal_data import iso
from bot.referrals import service
from bot.referrals.support import merge_supporters, supported_by, supporter
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
        own = supporter(session, n.id or 0, person_id)  # a supporter's own argument, not the nominator's
        item: dict[str, Any] = {"code": service.nomination_code(n.id), "position": service.position_code(n.position_id),
                                "position_title": position.title if position else "",
                                "state": service.shown_state(n.state, n, v),
                                "argument": own.argument if own and v.is_nominator else n.argument,
                                "created_at": iso(n.created_at), "history": _history(session, n, v)}
        if v.is_nominator:
            item["nominee"] = identity.display_name(session, n.nominee_id, missing="")
        else:
            item["nominator"] = identity.display_name(session, n.nominator_id, missing="")
        return item

    made = sorted([*made, *supported_by(session, person_id)], key=lambda n: n.id or 0)
    return {"nominations_made": [nomination(n, as_nominator) for n in made],
            "nominations_received": [nomination(n, as_nominee) for n in about]}


# -- merging two persons --------------------------------------------------------------------------
def merge_hook(session: Session, keep_id: int, drop_id: int) -> None:
    """Before the generic move of person columns: keep one-nomination-per-(position, person) true.
    A conflicting nomination of the dropped person stays, without the uniqueness key."""
    merge_supporters(session, keep_id, drop_id)
    kept = {n.position_id for n in session.exec(select(Nomination).where(Nomination.nominee_id == keep_id))}
    for nomination in session.exec(select(Nomination).where(Nomination.nominee_id == drop_id,
                                                           col(Nomination.unique_key).is_not(None))):
        nomination.unique_key = None if nomination.position_id in kept else f"{nomination.position_id}:{keep_id}"
        session.add(nomination)
    session.flush()
