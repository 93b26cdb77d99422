"""Periodic referral work: consent reminders and lapses, and HR's daily digest of stale nominations.

Idempotent by construction: a reminder or a lapse is a `NominationReminder` row unique on
(nomination, round), claimed before anything is sent, and the lapse itself is a conditional state
change; HR's digest is an outbox row with a `dedupe_key` per (HR person, day). A job that runs
twice, or on two replicas at once, has one effect.

Timing: the nominee is reminded once CONSENT_REMINDER_AFTER (7 days) after the consent request;
the nomination lapses 7 days after that reminder (so 14 days after the request at the earliest).
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bot import identity
from bot.errors import UserError
from bot.messages import Message
from bot.referrals import guard, messaging, service, support
from bot.scheduler import JobContext, periodic
from storage.db import session_scope
from storage.tables import AuditEntry, Nomination, NominationReminder, Position

log = logging.getLogger(__name__)

REMINDER_ROUND = 1
LAPSE_ROUND = 2
LAPSE_AFTER_REMINDER = timedelta(days=7)


def _claim(session: Session, nomination_id: int, round_: int, now: datetime) -> bool:
    """Insert the (nomination, round) row; False if another run already did."""
    try:
        with session.begin_nested():
            session.add(NominationReminder(nomination_id=nomination_id, round=round_, at=now))
            session.flush()
    except IntegrityError:
        return False
    return True


def _info(session: Session, nomination: Nomination) -> messaging.PositionInfo:
    position = session.get(Position, nomination.position_id)
    assert position is not None and position.id is not None
    return messaging.PositionInfo(id=position.id, title=position.title, site=position.site, team=position.team,
                                  description=position.description,
                                  skills=tuple(service.skills_of(session, position.id)),
                                  closes_at=position.closes_at)


def _step(ctx: JobContext, nomination_id: int) -> str | None:
    """Remind or lapse one nomination, in its own transaction. Returns what was done."""
    now = ctx.clock.now()
    with session_scope(ctx.engine) as session:
        nomination = session.get(Nomination, nomination_id)
        if nomination is None or nomination.state != service.AWAITING_CONSENT:
            return None
        asked = nomination.consent_asked_at or nomination.created_at
        reminder = session.exec(select(NominationReminder).where(NominationReminder.nomination_id == nomination_id,
                                                                 NominationReminder.round == REMINDER_ROUND)).first()
        code, info = service.nomination_code(nomination_id), _info(session, nomination)
        subject = f"nomination:{nomination_id}"
        if reminder is None:
            if now < asked + service.CONSENT_REMINDER_AFTER or not _claim(session, nomination_id, REMINDER_ROUND, now):
                return None
            nominator, argument = identity.display_name(session, nomination.nominator_id), nomination.argument
            ctx.outbox.send_to_person(session, ctx.settings, nomination.nominee_id,
                                      lambda: messaging.consent_request(code, info, nominator, argument, reminder=True),
                                      subject=guard.subject(nomination_id, guard.CONSENT_REMINDER),
                                      dedupe_key=f"referrals:{nomination_id}:reminder")
            return "reminded"
        if now < max(reminder.at + LAPSE_AFTER_REMINDER, asked + service.CONSENT_LAPSE_AFTER):
            return None
        if not _claim(session, nomination_id, LAPSE_ROUND, now):
            return None
        try:
            service.set_state(session, nomination, service.LAPSED, actor_id=None, now=now,
                              expected=service.AWAITING_CONSENT)
        except UserError:  # answered at this very moment
            return None
        session.add(AuditEntry(at=now, actor_person_id=None, action="nomination.state", subject=subject,
                               details=json.dumps({"after": service.LAPSED, "before": service.AWAITING_CONSENT},
                                                  sort_keys=True)))
        nominee = identity.display_name(session, nomination.nominee_id)
        for backer in support.backers(session, nomination):  # the nominator, then any supporter
            suffix = "" if backer == nomination.nominator_id else f":{backer}"
            ctx.outbox.send_to_person(session, ctx.settings, backer,
                                      lambda: messaging.nominator_lapsed(code, info, nominee), subject=subject,
                                      dedupe_key=f"referrals:{nomination_id}:lapsed:nominator{suffix}")
        ctx.outbox.send_to_person(session, ctx.settings, nomination.nominee_id,
                                  lambda: messaging.nominee_lapsed(code, info),
                                  subject=subject, dedupe_key=f"referrals:{nomination_id}:lapsed:nominee")
        return "lapsed"


@periodic("referrals.consent", 3600)
def consent_reminders(ctx: JobContext) -> dict[str, int]:
    """Remind nominees who have not answered, then lapse the nominations still unanswered."""
    with session_scope(ctx.engine) as session:
        ids = service.consent_due(session, ctx.clock.now(), REMINDER_ROUND, LAPSE_AFTER_REMINDER)
    done = {"reminded": 0, "lapsed": 0}
    for nomination_id in ids:
        try:
            outcome = _step(ctx, nomination_id)
        except IntegrityError:  # another replica did the same step at the same moment
            continue
        if outcome:
            done[outcome] += 1
    if any(done.values()):
        log.info("referral consent job: %d reminded, %d lapsed", done["reminded"], done["lapsed"])
    return done


@periodic("referrals.hr_digest", 3600)
def hr_digest(ctx: JobContext) -> int:
    """Once a day, tell each HR person which nominations have waited 14 days or more for HR."""
    now = ctx.clock.now()
    day = now.astimezone(ZoneInfo(ctx.settings.timezone)).date().isoformat()
    sent = 0
    try:
        with session_scope(ctx.engine) as session:
            stale = service.stale_for_hr(session, now)
            if not stale:
                return 0
            rows = [(n, session.get(Position, n.position_id)) for n in stale]
            lines = [(service.nomination_code(n.id), service.position_code(n.position_id), p.title if p else "?",
                      n.state, identity.display_name(session, n.nominee_id), n.updated_at) for n, p in rows]
            nominees = [n.nominee_id for n in stale]
            for person_id in service.hr_recipients(session):  # who holds hr today, not who opened the position
                mine = [line for line, nominee in zip(lines, nominees, strict=True) if nominee != person_id]
                if not mine:  # only nominations about this HR person: the others handle them
                    continue

                def build(mine: list[tuple[str, str, str, str, str, datetime]] = mine) -> Message:
                    return messaging.hr_digest(
                        [messaging.digest_line(code, pcode, title, state, nominee, now, updated)
                         for code, pcode, title, state, nominee, updated in mine])

                if ctx.outbox.send_to_person(session, ctx.settings, person_id, build, subject=guard.HR_DIGEST,
                                             dedupe_key=f"referrals:hr-digest:{day}:{person_id}"):
                    sent += 1
    except IntegrityError:  # another replica sent today's digest at the same moment
        return 0
    return sent
