"""Referral rules: positions, nominations, their states, and who may see what.

Confidentiality is enforced here, not in the adapters: `visible_nomination` answers exactly as
for an unknown code when the caller is not the nominator, the nominee or HR, and HR sees the
nominee and the argument only once the nominee has consented.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from bot.errors import Forbidden, NotFound, UserError
from bot.i18n import N_, _, typed_word
from bot.permissions import Role, holds_role, people_with_role
from bot.settings import Settings
from storage.db import affected
from storage.tables import (
    Nomination,
    NominationEvent,
    NominationReminder,
    NominationSupporter,
    Position,
    PositionSkill,
)

# -- states ------------------------------------------------------------------------------------------
SUBMITTED = "submitted"
AWAITING_CONSENT = "awaiting_consent"
CONSENTED = "consented"
DECLINED = "declined"
LAPSED = "lapsed"
UNDER_REVIEW = "under_review"
INTERVIEW = "interview"
OFFERED = "offered"
HIRED = "hired"
REJECTED = "rejected"
WITHDRAWN = "withdrawn"
CLOSED = "closed"  # not a state: how a decline is shown to those who must not learn of it (`shown_state`)

STATES = (SUBMITTED, AWAITING_CONSENT, CONSENTED, DECLINED, LAPSED, UNDER_REVIEW, INTERVIEW, OFFERED, HIRED,
          REJECTED, WITHDRAWN)
FINAL = frozenset({DECLINED, LAPSED, HIRED, REJECTED, WITHDRAWN})

# What HR may move a nomination to, from each state (design §4.1).
HR_MOVES: dict[str, tuple[str, ...]] = {
    CONSENTED: (UNDER_REVIEW, REJECTED),
    UNDER_REVIEW: (INTERVIEW, REJECTED),
    INTERVIEW: (OFFERED, REJECTED),
    OFFERED: (HIRED, REJECTED),
}
# The nominator may withdraw before an offer.
WITHDRAWABLE = frozenset({SUBMITTED, AWAITING_CONSENT, CONSENTED, UNDER_REVIEW, INTERVIEW})
# States in HR's hands: listed in HR's digest when untouched for STALE_AFTER.
HR_ACTIVE = tuple(HR_MOVES)

STATE_LABELS: dict[str, str] = {
    SUBMITTED: N_("submitted"),
    AWAITING_CONSENT: N_("awaiting consent"),
    CONSENTED: N_("consented"),
    DECLINED: N_("declined"),
    LAPSED: N_("lapsed (no answer)"),
    UNDER_REVIEW: N_("under review"),
    INTERVIEW: N_("interview"),
    OFFERED: N_("offered"),
    HIRED: N_("hired"),
    REJECTED: N_("not retained"),
    WITHDRAWN: N_("withdrawn"),
}
# French (and spaced) spellings accepted by `nomination move`.
STATE_ALIASES = {
    "under-review": UNDER_REVIEW, "review": UNDER_REVIEW, "examen": UNDER_REVIEW, "etude": UNDER_REVIEW,
    "étude": UNDER_REVIEW, "entretien": INTERVIEW, "offre": OFFERED, "offert": OFFERED, "hire": HIRED,
    "embauche": HIRED, "embauché": HIRED, "recrute": HIRED, "recruté": HIRED, "reject": REJECTED,
    "rejete": REJECTED, "rejeté": REJECTED, "refuse": REJECTED, "refusé": REJECTED, "recrutement": HIRED,
    "non_retenue": REJECTED, "non_retenu": REJECTED,
}

# -- timing (documented in the README) ------------------------------------------------------------
CONSENT_REMINDER_AFTER = timedelta(days=7)  # one reminder to the nominee
CONSENT_LAPSE_AFTER = timedelta(days=14)  # 7 days after the reminder: the nomination lapses
STALE_AFTER = timedelta(days=14)  # untouched by HR this long: listed in HR's daily digest

MIN_ARGUMENT_CHARS = 20
MIN_ARGUMENT_WORDS = 3
MAX_ARGUMENT_CHARS = 2000
MAX_NOTE_CHARS = 2000
QUEUE_LIMIT = 40  # lines of HR's queue in one chat message


def state_label(state: str) -> str:
    return _(STATE_LABELS.get(state, state))


def typed_state(state: str) -> str:
    """The state as HR types it in their language (`entretien`)."""
    return typed_word(state, "nomination state")


def position_code(position_id: int | None) -> str:
    return f"P{position_id}"


def nomination_code(nomination_id: int | None) -> str:
    return f"N{nomination_id}"


# -- roles -----------------------------------------------------------------------------------------
def is_hr(session: Session, settings: Settings, person_id: int) -> bool:
    """HR people run positions and the nomination queue. Admins are not HR unless granted hr: they manage
    roles, and do not read nominations (least privilege)."""
    return holds_role(session, person_id, settings, Role.HR)


def require_hr(session: Session, settings: Settings, person_id: int) -> None:
    if not is_hr(session, settings, person_id):
        raise Forbidden(_("Only HR people may do this. Administrators grant the hr role (role grant @person hr); "
                          "they do not hold it by being administrators."))


def hr_recipients(session: Session, nomination: Nomination | None = None) -> list[int]:
    """Who hears about the HR side, asked when the rows are written (and again at sending, `guard`): the people
    holding hr now (a former HR person, even the one who opened the position, hears nothing more), except the
    nominee of `nomination` (a nomination about an HR person is handled by the other HR people)."""
    ids = list(dict.fromkeys(people_with_role(session, Role.HR)))
    return [i for i in ids if nomination is None or i != nomination.nominee_id]


# -- positions -------------------------------------------------------------------------------------
def open_position(session: Session, *, title: str, site: str, team: str, description: str, skills: list[str],
                  closes_at: datetime | None, opener_id: int, now: datetime) -> Position:
    if len(title) > 200:
        raise UserError(_("A position title is at most 200 characters long."))
    if len(site) > 200 or len(team) > 200:
        raise UserError(_("A site or team name is at most 200 characters long."))
    if len(description) > 4000:
        raise UserError(_("A description is at most 4000 characters long."))
    if len(skills) > 20:
        raise UserError(_("At most 20 skills for a position."))
    position = Position(title=title, site=site, team=team, description=description, closes_at=closes_at,
                        opened_by=opener_id, opened_at=now)
    session.add(position)
    session.flush()
    assert position.id is not None
    for skill in skills:
        session.add(PositionSkill(position_id=position.id, skill=skill))
    session.flush()
    return position


def skills_of(session: Session, position_id: int) -> list[str]:
    return sorted(s.skill for s in session.exec(select(PositionSkill).where(PositionSkill.position_id == position_id)))


def is_open(position: Position, now: datetime) -> bool:
    return position.closed_at is None and (position.closes_at is None or position.closes_at > now)


def get_position(session: Session, position_id: int) -> Position:
    position = session.get(Position, position_id)
    if position is None:
        raise NotFound(_("There is no position {code}. See position list.", code=position_code(position_id)))
    return position


def open_positions(session: Session, now: datetime, *, skill: str | None = None,
                   site: str | None = None) -> list[Position]:
    query = (select(Position).where(col(Position.closed_at).is_(None))
             .where((col(Position.closes_at).is_(None)) | (col(Position.closes_at) > now))
             .order_by(col(Position.id)))
    if skill:
        query = query.where(col(Position.id).in_(select(PositionSkill.position_id).where(PositionSkill.skill == skill)))
    rows = list(session.exec(query))
    if site:
        wanted = site.strip().casefold()
        rows = [p for p in rows if p.site.casefold() == wanted]
    return rows


def close_position(session: Session, position: Position, now: datetime) -> None:
    if position.closed_at is not None:
        raise UserError(_("The position {code} is already closed.", code=position_code(position.id)))
    position.closed_at = now
    session.add(position)


# -- nominations -----------------------------------------------------------------------------------
def check_argument(text: str) -> str:
    """At least a sentence: MIN_ARGUMENT_CHARS characters and MIN_ARGUMENT_WORDS words."""
    text = " ".join(text.split())
    if len(text) < MIN_ARGUMENT_CHARS or len(text.split()) < MIN_ARGUMENT_WORDS:
        raise UserError(_("Say why in at least a sentence: {chars} characters and {words} words or more, "
                          "like \"She ran the Lyon migration and trains the team on Kafka.\"",
                          chars=MIN_ARGUMENT_CHARS, words=MIN_ARGUMENT_WORDS))
    if len(text) > MAX_ARGUMENT_CHARS:
        raise UserError(_("The argument is at most {n} characters long.", n=MAX_ARGUMENT_CHARS))
    return text


@dataclass(frozen=True)
class Viewer:
    """How a person relates to a nomination, which decides what they see."""

    is_nominator: bool
    is_nominee: bool
    is_hr: bool
    hr_nominee: bool = False  # the nominee holds hr: the other HR people handle it


def viewer(session: Session, settings: Settings, nomination: Nomination, person_id: int) -> Viewer | None:
    """None when the person may not know the nomination exists."""
    # The nominee sees what any nominee sees, even when they are HR: not HR's notes, no move.
    hr = is_hr(session, settings, person_id)
    about_them = nomination.nominee_id == person_id
    supporting = session.exec(select(NominationSupporter.id).where(
        NominationSupporter.nomination_id == nomination.id, NominationSupporter.supporter_id == person_id)).first()
    v = Viewer(is_nominator=nomination.nominator_id == person_id or supporting is not None,
               is_nominee=about_them and nomination.state != SUBMITTED,
               is_hr=hr and not about_them, hr_nominee=hr and about_them)
    return v if (v.is_nominator or v.is_nominee or v.is_hr) else None


def unknown_nomination(nomination_id: int) -> NotFound:
    return NotFound(_("There is no nomination {code} that you can see. See nomination list.",
                      code=nomination_code(nomination_id)))


def visible_nomination(session: Session, settings: Settings, nomination_id: int,
                       person_id: int) -> tuple[Nomination, Viewer]:
    """The nomination and the caller's relation to it; the same NotFound for unknown and not allowed."""
    nomination = session.get(Nomination, nomination_id)
    if nomination is None:
        raise unknown_nomination(nomination_id)
    v = viewer(session, settings, nomination, person_id)
    if v is None:
        raise unknown_nomination(nomination_id)
    return nomination, v


def hr_may_identify(nomination: Nomination) -> bool:
    """HR learns who the nominee is (and reads the argument) only once the nominee has consented."""
    return nomination.consented_at is not None


def shown_state(state: str, nomination: Nomination, v: Viewer) -> str:
    """THE rule for what a viewer may learn of a state (the current one, or one in the history): a decline
    is shown as CLOSED to its nominator (even one in HR) and to anyone else outside HR, so a nominator never
    learns that the person they put forward said no. HR sees "declined", as in HR's CSV export, without
    learning who declined (`hidden_nominee`). Every reply and export uses this."""
    if state == DECLINED and not v.is_nominee and (v.is_nominator or not v.is_hr):
        return CLOSED
    return state


def hidden_nominee(nomination: Nomination) -> str:
    """What HR reads instead of the nominee's name, before (or without) their consent."""
    if nomination.state in (SUBMITTED, AWAITING_CONSENT):
        return _("not named until they consent")
    return _("not named (no consent)")


def shown_label(state: str) -> str:
    """A state from `shown_state`, in the current language."""
    return _("closed") if state == CLOSED else state_label(state)


def public_state(nomination: Nomination, v: Viewer) -> str:
    """The nomination's state as this viewer may see it, in the current language."""
    return shown_label(shown_state(nomination.state, nomination, v))


def set_state(session: Session, nomination: Nomination, to_state: str, *, actor_id: int | None, now: datetime,
              note: str = "", shared: bool = False, expected: str | None = None) -> str:
    """Move the nomination, recording the event. `expected`: only if it is still in that state (a
    conditional update, so two replicas or two clicks cannot both move it). Returns the old state."""
    before = expected or nomination.state
    assert nomination.id is not None
    # A finished nomination gives up its (position, nominee) key: it no longer blocks a new one.
    released = {"unique_key": None} if to_state in FINAL else {}
    moved = affected(session, update(Nomination).where(col(Nomination.id) == nomination.id,
                                                       col(Nomination.state) == before)
                     .values(state=to_state, updated_at=now, **released))
    if moved != 1:
        session.refresh(nomination)
        raise UserError(_("{code} has just changed: it is now {state}. Nothing was done.",
                          code=nomination_code(nomination.id), state=state_label(nomination.state)))
    session.refresh(nomination)
    session.add(NominationEvent(nomination_id=nomination.id, at=now, actor_id=actor_id, from_state=before,
                                to_state=to_state, note=note, shared=shared))
    session.flush()
    return before


def answer_consent(session: Session, nomination: Nomination, v: Viewer, yes: bool, now: datetime) -> str:
    """The nominee's answer. A yes may be taken back (no) until HR moves the nomination on; then HR no longer
    sees who they are or the argument, as after a first no."""
    if not v.is_nominee:
        raise Forbidden(_("Only the person nominated can answer for {code}.", code=nomination_code(nomination.id)))
    code, state = nomination_code(nomination.id), state_label(nomination.state)
    taking_back = nomination.state == CONSENTED and not yes
    if nomination.state != AWAITING_CONSENT and not taking_back:
        if nomination.state in (WITHDRAWN, LAPSED):
            raise UserError(_("{code} is {state}: there is nothing to answer any more.", code=code, state=state))
        if nomination.state in HR_MOVES and nomination.state != CONSENTED and not yes:
            raise UserError(_("{code} is {state}: HR has moved it on, so your consent can no longer be taken back "
                              "here. Tell HR directly if you no longer wish to go on.", code=code, state=state))
        raise UserError(_("You have already answered for {code}: it is {state}.", code=code, state=state))
    target = CONSENTED if yes else DECLINED
    set_state(session, nomination, target, actor_id=nomination.nominee_id, now=now, expected=nomination.state)
    nomination.consented_at = now if yes else None
    session.add(nomination)
    session.flush()
    return target


def hr_move(session: Session, nomination: Nomination, v: Viewer, to_state: str, note: str, shared: bool,
            actor_id: int, now: datetime) -> str:
    if not v.is_hr:
        if v.hr_nominee:
            raise Forbidden(_("{code} is about you: the other HR people handle it, and you see it as any nominee "
                              "does.", code=nomination_code(nomination.id)))
        raise Forbidden(_("Only HR may move a nomination to another state."))
    if len(note) > MAX_NOTE_CHARS:
        raise UserError(_("A note is at most {n} characters long.", n=MAX_NOTE_CHARS))
    allowed = HR_MOVES.get(nomination.state, ())
    if to_state not in allowed:
        code = nomination_code(nomination.id)
        if not allowed:
            raise UserError(_("{code} is {state}: HR cannot move it from there.", code=code,
                              state=state_label(nomination.state)))
        raise UserError(_("{code} is {state}; it can move to: {allowed}.", code=code,
                          state=state_label(nomination.state), allowed=", ".join(typed_state(s) for s in allowed)))
    return set_state(session, nomination, to_state, actor_id=actor_id, now=now, note=note, shared=shared,
                     expected=nomination.state)


def withdraw(session: Session, nomination: Nomination, v: Viewer, actor_id: int, now: datetime) -> str:
    check_withdrawable(nomination, v)
    return set_state(session, nomination, WITHDRAWN, actor_id=actor_id, now=now, expected=nomination.state)


def check_withdrawable(nomination: Nomination, v: Viewer) -> None:
    """Refuse a withdrawal by someone who did not nominate, or after an offer."""
    code = nomination_code(nomination.id)
    if not v.is_nominator:
        raise Forbidden(_("Only the person who made the nomination {code} may withdraw it.", code=code))
    if nomination.state in FINAL:
        raise UserError(_("{code} is {state}: it is over, there is nothing to withdraw.", code=code,
                          state=public_state(nomination, v)))
    if nomination.state not in WITHDRAWABLE:
        raise UserError(_("{code} is {state}: it can no longer be withdrawn (only before an offer).", code=code,
                          state=public_state(nomination, v)))


def events(session: Session, nomination_id: int) -> list[NominationEvent]:
    return list(session.exec(select(NominationEvent).where(NominationEvent.nomination_id == nomination_id)
                             .order_by(col(NominationEvent.at), col(NominationEvent.id))))


def own_nominations(session: Session, person_id: int) -> tuple[list[Nomination], list[Nomination]]:
    """(made by the person, about the person from the consent request on)."""
    made = list(session.exec(select(Nomination).where(Nomination.nominator_id == person_id)
                             .order_by(col(Nomination.id))))
    about = list(session.exec(select(Nomination).where(Nomination.nominee_id == person_id,
                                                       Nomination.state != SUBMITTED)
                              .order_by(col(Nomination.id))))
    return made, about


def stale_for_hr(session: Session, now: datetime) -> list[Nomination]:
    """Nominations in HR's hands untouched for STALE_AFTER."""
    return list(session.exec(select(Nomination).where(col(Nomination.state).in_(HR_ACTIVE),
                                                      Nomination.updated_at <= now - STALE_AFTER)
                             .order_by(col(Nomination.updated_at))))


def consent_due(session: Session, now: datetime, reminder_round: int, after_reminder: timedelta) -> list[int]:
    """Nominations awaiting consent for which a reminder or the lapse may be due, in one query: asked
    CONSENT_REMINDER_AFTER ago or more, and not reminded yet or reminded `after_reminder` ago or more."""
    reminder = aliased(NominationReminder)
    query = (select(Nomination.id)
             .outerjoin(reminder, (col(reminder.nomination_id) == Nomination.id) & (reminder.round == reminder_round))
             .where(Nomination.state == AWAITING_CONSENT,
                    col(Nomination.consent_asked_at) <= now - CONSENT_REMINDER_AFTER,
                    col(reminder.id).is_(None) | (col(reminder.at) <= now - after_reminder))
             .order_by(col(Nomination.id)))
    return [i for i in session.exec(query) if i is not None]

