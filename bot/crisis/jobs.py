"""Reminders: one private reminder per person per announcement round, only in their daytime.

Round 1 of an announcement starts by itself once the crisis's delay has passed; `crisis remind`
starts the next round at once, unless a round is still open (one open round at a time). A round
stays open until everyone in it was reminded or has read, so people in their evening, night or
weekend get theirs on their next working morning.
A reminder is a unique row (round, person) written with its outbox row, so a job run twice, or
on two replicas, reminds once.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot import identity
from bot.crisis import messaging, service
from bot.i18n import use_locale
from bot.messages import Message
from bot.outbox import Outbound, enqueue_many, send_to_person
from bot.scheduler import JobContext, periodic
from bot.settings import Settings
from storage.db import session_scope
from storage.tables import (
    Account,
    Crisis,
    CrisisAnnouncement,
    CrisisReminder,
    CrisisReminderRound,
    Person,
)

log = logging.getLogger(__name__)

DAY_STARTS, DAY_ENDS = 8, 20  # reminders only from 08:00 to 20:00, Monday to Friday, where the person is


@dataclass(frozen=True)
class RoundResult:
    sent: int
    waiting: int


def is_daytime(person: Person | None, settings: Settings, now: datetime,
               accounts: Iterable[Account] = ()) -> bool:
    zone_name = identity.choose_zone(person, accounts, settings.timezone)
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo(settings.timezone)
    local = now.astimezone(zone)
    return local.weekday() < 5 and DAY_STARTS <= local.hour < DAY_ENDS


def _reminded(session: Session, round_id: int) -> set[int]:
    return set(session.exec(select(CrisisReminder.person_id).where(CrisisReminder.round_id == round_id)))


def send_round(session: Session, settings: Settings, crisis: Crisis, announcement: CrisisAnnouncement,
               rnd: CrisisReminderRound, now: datetime) -> RoundResult:
    """Remind, in this round, everyone of the audience who has not read and is in their daytime."""
    assert crisis.id is not None and rnd.id is not None and announcement.id is not None
    todo = sorted(service.audience_ids(session, crisis.id) - service.acked_ids(session, announcement.id)
                  - _reminded(session, rnd.id))
    people, accounts = _load(session, todo)
    due = [p for p in todo if is_daytime(people.get(p), settings, now, accounts.get(p, ()))]
    waiting = len(todo) - len(due)
    try:
        with session.begin_nested():  # all at once: thousands of reminders in a few statements
            sent = _remind_all(session, settings, crisis, announcement, rnd, due, people, accounts, now)
    except IntegrityError:  # another replica is in this round too: one by one, skipping whom it reminded
        sent = _remind_each(session, settings, crisis, announcement, rnd, due, now)
    if waiting == 0:
        rnd.open = False
        session.add(rnd)
    return RoundResult(sent, waiting)


def _load(session: Session, ids: list[int]) -> tuple[dict[int, Person], dict[int, list[Account]]]:
    people: dict[int, Person] = {}
    accounts: dict[int, list[Account]] = defaultdict(list)
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        people.update((p.id or 0, p) for p in session.exec(select(Person).where(col(Person.id).in_(chunk))))
        for account in session.exec(select(Account).where(col(Account.person_id).in_(chunk))):
            accounts[account.person_id].append(account)
    return people, accounts


def _remind_all(session: Session, settings: Settings, crisis: Crisis, announcement: CrisisAnnouncement,
                rnd: CrisisReminderRound, due: list[int], people: dict[int, Person],
                accounts: dict[int, list[Account]], now: datetime) -> int:
    crisis_id = crisis.id or 0
    session.execute(insert(CrisisReminder), [{"round_id": rnd.id, "person_id": p, "at": now} for p in due])
    messages: dict[tuple[str, str], Message] = {}
    outbound = []
    for person_id in due:
        account = identity.choose_account(accounts.get(person_id, []))
        person = people.get(person_id)
        if account is None or person is None:
            continue
        reader = (identity.choose_locale(person, accounts[person_id], settings.locale),
                  identity.choose_zone(person, accounts[person_id], settings.timezone))
        if reader not in messages:
            with use_locale(*reader):
                messages[reader] = messaging.reminder(crisis, announcement)
        outbound.append(Outbound(account.platform, account.workspace, "dm", account.user_id, messages[reader],
                                 person_id, service.subject(crisis_id, "remind", announcement.number, rnd.round,
                                                            person_id)))
    enqueue_many(session, outbound, subject=service.subject(crisis_id, "remind", announcement.number), now=now)
    return len(due)


def _remind_each(session: Session, settings: Settings, crisis: Crisis, announcement: CrisisAnnouncement,
                 rnd: CrisisReminderRound, due: list[int], now: datetime) -> int:
    crisis_id = crisis.id or 0
    sent = 0
    for person_id in due:
        try:
            with session.begin_nested():
                session.add(CrisisReminder(round_id=rnd.id or 0, person_id=person_id, at=now))
                session.flush()
                send_to_person(session, settings, person_id, lambda: messaging.reminder(crisis, announcement),
                               subject=service.subject(crisis_id, "remind", announcement.number),
                               dedupe_key=service.subject(crisis_id, "remind", announcement.number, rnd.round,
                                                          person_id), now=now)
            sent += 1
        except IntegrityError:  # reminded by the other replica just now
            continue
    return sent


def start_round(session: Session, settings: Settings, crisis: Crisis, announcement: CrisisAnnouncement,
                now: datetime) -> RoundResult | None:
    """`crisis remind`: a new round for the latest announcement, sent now to those in their daytime; None
    while a round is still open (people waiting for their daytime would otherwise get one per round)."""
    # One `crisis remind` at a time per crisis (PostgreSQL; SQLite has one writer anyway).
    session.exec(select(Crisis.id).where(Crisis.id == crisis.id).with_for_update()).first()
    rounds = list(session.exec(select(CrisisReminderRound)
                               .where(CrisisReminderRound.announcement_id == announcement.id)
                               .order_by(col(CrisisReminderRound.round).desc())))
    if any(r.open for r in rounds):
        return None
    last = rounds[0] if rounds else None
    rnd = CrisisReminderRound(announcement_id=announcement.id or 0, round=(last.round + 1) if last else 1,
                              started_at=now)
    session.add(rnd)
    session.flush()
    return send_round(session, settings, crisis, announcement, rnd, now)


def run_reminders(session: Session, settings: Settings, now: datetime) -> int:
    """Start due automatic rounds and continue open ones, for every open crisis; returns reminders sent."""
    sent = 0
    for crisis in session.exec(select(Crisis).where(Crisis.status == "open").order_by(col(Crisis.id))).all():
        latest = service.latest_announcement(session, crisis.id or 0)
        if latest is None:
            continue
        rounds = list(session.exec(select(CrisisReminderRound)
                                   .where(CrisisReminderRound.announcement_id == latest.id)))
        if not rounds and now >= latest.at + timedelta(minutes=crisis.remind_after_minutes):
            try:
                with session.begin_nested():
                    first = CrisisReminderRound(announcement_id=latest.id or 0, round=1, started_at=now)
                    session.add(first)
                    session.flush()
                rounds = [first]
            except IntegrityError:  # another replica started it
                continue
        for rnd in rounds:
            if rnd.open:
                sent += send_round(session, settings, crisis, latest, rnd, now).sent
    return sent


@periodic("crisis-reminders", 120)
def reminders_job(ctx: JobContext) -> None:
    with session_scope(ctx.engine) as session:
        sent = run_reminders(session, ctx.settings, ctx.clock.now())
        if sent:
            ctx.outbox.wake_after_commit(session)
    if sent:
        log.info("crisis reminders queued: %d", sent)
