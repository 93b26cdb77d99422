"""Reminders: one per person per round, after the delay, never in someone's evening, night or weekend."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlmodel import col, select

from bot.clock import FrozenClock
from bot.crisis import jobs
from bot.crisis.jobs import reminders_job
from bot.outbox.guard import REFUSED
from storage.db import session_scope
from storage.tables import (
    Account,
    Crisis,
    CrisisAnnouncement,
    CrisisReminder,
    CrisisReminderRound,
    OutboxMessage,
    Person,
)
from tests.bot.crisis.test_crisis import declare, setup_people
from tests.support.chat import Chat


def run_job(chat: Chat) -> None:
    reminders_job(chat.app.job_context())


def reminded(chat: Chat) -> list[str]:
    return sorted(s.target_id for s in chat.deliver() if s.target_kind == "dm" and "Reminder" in s.message.summary)


def set_timezone(chat: Chat, user: str, zone: str) -> None:
    with session_scope(chat.app.engine) as s:
        account = s.exec(select(Account).where(Account.user_id == user)).one()
        person = s.get(Person, account.person_id)
        assert person is not None
        person.timezone = zone
        s.add(person)


def test_reminder_after_the_delay_once_to_those_who_have_not_read(chat: Chat, clock: FrozenClock) -> None:
    setup_people(chat)  # Monday 2026-11-23 09:00 UTC, 10:00 in Paris
    cid = declare(chat)
    chat.ok(f'crisis announce C{cid} "Read me."', user="dave")
    chat.ok(f"crisis ack C{cid}", user="bob")
    chat.deliver()
    clock.advance(timedelta(hours=3, minutes=59))
    run_job(chat)
    assert reminded(chat) == []
    clock.advance(timedelta(minutes=2))
    run_job(chat)
    run_job(chat)  # a second run (or a second replica) reminds nobody twice
    assert reminded(chat) == ["alice"]
    clock.advance(timedelta(hours=1))
    run_job(chat)
    assert reminded(chat) == []
    # `crisis remind` starts a new round now; still one reminder per person in it
    assert "1 sent now" in chat.ok(f"crisis remind C{cid}", user="dave")
    assert reminded(chat) == ["alice"]
    run_job(chat)
    assert reminded(chat) == []
    # an update needs its own acknowledgement: its round comes after the delay
    chat.ok(f'crisis announce C{cid} "Update."', user="dave")
    chat.deliver()
    clock.advance(timedelta(hours=4, minutes=1))
    run_job(chat)
    assert reminded(chat) == ["alice", "bob"]


def test_custom_delay(chat: Chat, clock: FrozenClock) -> None:
    setup_people(chat)
    chat.ok('crisis declare "Outage" --audience ops --remind-after 30m', user="dave")
    chat.ok('crisis announce C1 "Read me."', user="dave")
    chat.deliver()
    clock.advance(timedelta(minutes=31))
    run_job(chat)
    assert reminded(chat) == ["alice", "bob"]


def test_night_in_the_persons_time_zone_waits_for_the_morning(chat: Chat, clock: FrozenClock) -> None:
    setup_people(chat)
    set_timezone(chat, "bob", "Asia/Tokyo")
    cid = declare(chat)
    chat.ok(f'crisis announce C{cid} "Read me."', user="dave")
    chat.deliver()
    clock.set(datetime(2026, 11, 23, 13, 0, tzinfo=UTC))  # 14:00 in Paris, 22:00 in Tokyo
    run_job(chat)
    assert reminded(chat) == ["alice"]
    # Round 1 waits for bob's morning: a `crisis remind` now opens no second round (issue 12).
    assert "still open" in chat.error(f"crisis remind C{cid}", user="dave")
    assert reminded(chat) == []
    clock.set(datetime(2026, 11, 23, 22, 30, tzinfo=UTC))  # 07:30 in Tokyo: still night
    run_job(chat)
    assert "bob" not in reminded(chat)
    clock.set(datetime(2026, 11, 23, 23, 5, tzinfo=UTC))  # 08:05 on Tuesday in Tokyo
    run_job(chat)
    assert "bob" in reminded(chat)


def test_the_zone_people_set_themselves_decides_their_night(chat: Chat, clock: FrozenClock) -> None:
    setup_people(chat)
    chat.ok("profil fuseau asia/tokyo", user="bob")
    cid = declare(chat)
    chat.ok(f'crisis announce C{cid} "Read me."', user="dave")
    chat.deliver()
    clock.set(datetime(2026, 11, 23, 13, 0, tzinfo=UTC))  # 14:00 in Paris (alice: the default), 22:00 in Tokyo
    run_job(chat)
    assert reminded(chat) == ["alice"]
    chat.ok("profile timezone Europe/Paris", user="bob")  # bob is back in Paris: his afternoon
    run_job(chat)
    assert reminded(chat) == ["bob"]


def test_weekends_wait_for_monday(chat: Chat, clock: FrozenClock) -> None:
    clock.set(datetime(2026, 11, 27, 14, 0, tzinfo=UTC))  # Friday 15:00 in Paris
    setup_people(chat)
    cid = declare(chat)
    chat.ok(f'crisis announce C{cid} "Read me."', user="dave")
    chat.deliver()
    clock.set(datetime(2026, 11, 27, 17, 59, tzinfo=UTC))  # Friday 18:59: the delay has not passed
    run_job(chat)
    assert reminded(chat) == []
    for moment in (datetime(2026, 11, 27, 19, 30, tzinfo=UTC),  # Friday 20:30 in Paris: evening
                   datetime(2026, 11, 28, 10, 0, tzinfo=UTC),  # Saturday
                   datetime(2026, 11, 30, 6, 59, tzinfo=UTC)):  # Monday 07:59 in Paris
        clock.set(moment)
        run_job(chat)
        assert reminded(chat) == [], moment
    for _night in range(3):  # a worried communicator at night: the open round is the one reminder to come
        assert "Nothing new was sent" in chat.error(f"crisis remind C{cid}", user="dave")
    clock.set(datetime(2026, 11, 30, 7, 0, tzinfo=UTC))  # Monday 08:00 in Paris
    run_job(chat)
    assert reminded(chat) == ["alice", "bob"]  # one reminder each, however many times remind was typed
    run_job(chat)
    assert reminded(chat) == []


def test_two_replicas_running_the_job_at_once_remind_each_person_once(chat: Chat, clock: FrozenClock) -> None:
    setup_people(chat)
    for user in ("carol", "dan", "erin", "fred"):
        chat.ok("community join ops", user=user)
    cid = declare(chat)
    chat.ok(f'crisis announce C{cid} "Read me."', user="dave")
    chat.deliver()
    clock.advance(timedelta(hours=5))
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def replica() -> None:
        try:
            barrier.wait(5)
            run_job(chat)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=replica) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert reminded(chat) == ["alice", "bob", "carol", "dan", "erin", "fred"]


def test_a_round_partly_done_by_another_replica_reminds_only_the_others(chat: Chat, clock: FrozenClock) -> None:
    setup_people(chat)
    cid = declare(chat)
    chat.ok(f'crisis announce C{cid} "Read me."', user="dave")
    chat.deliver()
    with session_scope(chat.app.engine) as s:
        announcement = s.exec(select(CrisisAnnouncement)).one()
        alice = s.exec(select(Account).where(Account.user_id == "alice")).one()
        rnd = CrisisReminderRound(announcement_id=announcement.id or 0, round=1, started_at=clock.now())
        s.add(rnd)
        s.flush()
        # the other replica has reminded alice, and its transaction commits while ours runs
        s.add(CrisisReminder(round_id=rnd.id or 0, person_id=alice.person_id, at=clock.now()))
    with session_scope(chat.app.engine) as s:
        crisis = s.get(Crisis, cid)
        round_row = s.exec(select(CrisisReminderRound)).one()
        assert crisis is not None
        # our replica read the round before that reminder was written: it still counts alice as to do
        orig = jobs._reminded
        jobs._reminded = lambda session, round_id: set()
        try:
            result = jobs.send_round(s, chat.app.settings, crisis, announcement, round_row, clock.now())
        finally:
            jobs._reminded = orig
    assert result.sent == 1
    assert reminded(chat) == ["bob"]


def test_a_reminder_waiting_to_go_out_is_dropped_once_read_or_once_the_crisis_is_closed(chat: Chat,
                                                                                       clock: FrozenClock) -> None:
    setup_people(chat)
    cid = declare(chat)
    chat.ok(f'crisis announce C{cid} "Read me."', user="dave")
    chat.deliver()
    clock.advance(timedelta(hours=4, minutes=1))
    run_job(chat)  # alice and bob are to be reminded...
    chat.ok(f"crisis ack C{cid}", user="bob")  # ...bob reads it before his reminder goes out
    assert reminded(chat) == ["alice"]
    assert "sent now" in chat.ok(f"crisis remind C{cid}", user="dave")  # a new round for alice...
    chat.ok(f"crisis close C{cid}", user="dave")  # ...and the crisis closes before it goes out
    assert reminded(chat) == []
    with session_scope(chat.app.engine) as s:
        rows = s.exec(select(OutboxMessage).where(OutboxMessage.subject == f"crisis:{cid}:remind:1")
                      .order_by(col(OutboxMessage.id))).all()
        # round 1: alice's sent, bob's refused; round 2: alice's refused (none keeps its recipient)
        assert sorted((r.target_id, r.status, r.last_error or "") for r in rows) == [
            ("", "failed", REFUSED), ("", "failed", REFUSED), ("", "sent", "")]
