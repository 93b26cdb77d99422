"""Making a nomination without giving anything away, and the people behind it.

A second nomination of the same person for the same position, while the first is in progress, gets the
same answer as the first: its author becomes a *supporter* (the nominee is asked once; HR reads both
arguments). So nobody, HR included, learns from Cercle's answer that someone else nominated that person,
or that they declined before: a finished nomination (withdrawn, declined, lapsed, hired, rejected) gives
up its key and a new one starts afresh. A per-nominator daily limit (`CERCLE_NOMINATIONS_PER_DAY`) keeps
one person from sending hundreds of consent requests.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.errors import UserError
from bot.i18n import _, ngettext
from bot.referrals.service import (
    AWAITING_CONSENT,
    FINAL,
    SUBMITTED,
    check_argument,
    is_open,
    position_code,
)
from storage.tables import Nomination, NominationEvent, NominationSupporter, Position

DAY = timedelta(days=1)


def made_today(session: Session, person_id: int, now: datetime) -> int:
    """Nominations and supports the person made in the last 24 hours."""
    since = now - DAY
    made = session.exec(select(func.count()).select_from(Nomination)
                        .where(Nomination.nominator_id == person_id, col(Nomination.created_at) > since)).one()
    supported = session.exec(select(func.count()).select_from(NominationSupporter)
                             .where(NominationSupporter.supporter_id == person_id,
                                    col(NominationSupporter.created_at) > since)).one()
    return int(made) + int(supported)


def nominate(session: Session, *, position: Position, nominator_id: int, nominee_id: int, argument: str,
             now: datetime, per_day: int) -> tuple[Nomination, bool]:
    """The nomination of `nominee_id` for `position` and whether it is new (then the caller asks the nominee,
    in the same transaction). When one is already in progress, the caller becomes its supporter: the same
    nomination comes back, and nothing tells the caller it existed."""
    if not is_open(position, now):
        raise UserError(_("The position {code} is closed: it no longer takes nominations.",
                          code=position_code(position.id)))
    if nominee_id == nominator_id:
        raise UserError(_("You cannot nominate yourself. To apply for {code}, contact HR directly: they will "
                          "be glad to hear from you.", code=position_code(position.id)))
    argument = check_argument(argument)
    if made_today(session, nominator_id, now) >= per_day:
        raise UserError(ngettext("You have made {n} nomination in the last 24 hours, the most allowed. Try again "
                                 "tomorrow, or tell HR directly about the person.",
                                 "You have made {n} nominations in the last 24 hours, the most allowed. Try again "
                                 "tomorrow, or tell HR directly about the person.", per_day))
    assert position.id is not None
    key = f"{position.id}:{nominee_id}"
    for _attempt in range(2):
        current = session.exec(select(Nomination).where(Nomination.unique_key == key)).first()
        if current is not None and current.state in FINAL:  # a row finished before keys were released
            current.unique_key = None
            session.add(current)
            session.flush()
            current = None
        if current is not None:
            support(session, current, nominator_id, argument, now)
            return current, False
        nomination = Nomination(position_id=position.id, nominator_id=nominator_id, nominee_id=nominee_id,
                                unique_key=key, argument=argument, state=AWAITING_CONSENT, created_at=now,
                                updated_at=now, consent_asked_at=now)
        try:
            with session.begin_nested():
                session.add(nomination)
                session.flush()
                assert nomination.id is not None
                session.add(NominationEvent(nomination_id=nomination.id, at=now, actor_id=nominator_id,
                                            from_state=SUBMITTED, to_state=AWAITING_CONSENT))
                session.flush()
        except IntegrityError:  # the same person nominated at the same moment elsewhere: support that one
            continue
        return nomination, True
    raise UserError(_("Too many people are nominating this person right now. Try again in a moment."))


def support(session: Session, nomination: Nomination, person_id: int, argument: str, now: datetime) -> None:
    """Add `person_id` behind `nomination` (nothing when they already are)."""
    assert nomination.id is not None
    if nomination.nominator_id == person_id or supporter(session, nomination.id, person_id) is not None:
        return
    try:
        with session.begin_nested():
            session.add(NominationSupporter(nomination_id=nomination.id, supporter_id=person_id, argument=argument,
                                            created_at=now))
            session.flush()
    except IntegrityError:  # the same support at the same moment (a double click on two replicas)
        pass


def supporter(session: Session, nomination_id: int, person_id: int) -> NominationSupporter | None:
    return session.exec(select(NominationSupporter).where(NominationSupporter.nomination_id == nomination_id,
                                                          NominationSupporter.supporter_id == person_id)).first()


def supporters(session: Session, nomination_id: int) -> list[NominationSupporter]:
    return list(session.exec(select(NominationSupporter).where(NominationSupporter.nomination_id == nomination_id)
                             .order_by(col(NominationSupporter.id))))


def backers(session: Session, nomination: Nomination) -> list[int]:
    """Who put the nominee forward: the nominator, then the supporters. They hear about each step."""
    assert nomination.id is not None
    return list(dict.fromkeys([nomination.nominator_id,
                               *(s.supporter_id for s in supporters(session, nomination.id))]))


def supported_by(session: Session, person_id: int) -> list[Nomination]:
    """The nominations the person supports (they count as theirs in their lists)."""
    ids = select(NominationSupporter.nomination_id).where(NominationSupporter.supporter_id == person_id)
    return list(session.exec(select(Nomination).where(col(Nomination.id).in_(ids)).order_by(col(Nomination.id))))


def withdraw_backing(session: Session, nomination: Nomination, person_id: int) -> bool:
    """The person stops backing `nomination`. True when others still back it (it goes on without them; a
    withdrawing nominator hands it to the first supporter); False when they were the last (the caller
    withdraws the nomination itself)."""
    assert nomination.id is not None
    own = supporter(session, nomination.id, person_id)
    if own is not None:
        session.delete(own)
        session.flush()
        return True
    rest = supporters(session, nomination.id)
    if nomination.nominator_id != person_id or not rest:
        return False
    nomination.nominator_id, nomination.argument = rest[0].supporter_id, rest[0].argument
    session.add(nomination)
    session.delete(rest[0])
    session.flush()
    return True


def merge_supporters(session: Session, keep_id: int, drop_id: int) -> None:
    """Two persons becoming one: one support per nomination, none of a nomination the kept person made."""
    both = (keep_id, drop_id)
    made = set(session.exec(select(Nomination.id).where(col(Nomination.nominator_id).in_(both))))
    rows = list(session.exec(select(NominationSupporter).where(col(NominationSupporter.supporter_id).in_(both))))
    kept = {r.nomination_id for r in rows if r.supporter_id == keep_id}
    for row in rows:
        if row.nomination_id in made or (row.supporter_id == drop_id and row.nomination_id in kept):
            session.delete(row)
    session.flush()
