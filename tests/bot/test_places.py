"""The places rule in the core (issue 12), as an attacker would try it from a shared console channel: French
command words, unknown codes, HR figures, a live anonymous tally, a crisis one is not part of, and reminders
typed again and again at night."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from sqlmodel import select

from bot.clock import FrozenClock
from storage.db import session_scope
from storage.tables import CrisisReminderRound
from tests.bot.crisis.test_crisis import declare, setup_people
from tests.bot.crisis.test_reminders import reminded, run_job
from tests.bot.referrals.helpers import WHY, nominate, open_position, setup_hr
from tests.support.chat import Chat
from tests.support.snapshot import snapshot


def test_french_words_and_unknown_codes_are_refused_before_anything_is_looked_up(chat: Chat) -> None:
    setup_hr(chat)
    open_position(chat)
    nominate(chat)
    before = snapshot(chat.app.engine)
    for line in (f'coopter P1 @zoe "{WHY}"', "candidature voir N1", "cooptation liste", "nomination show N999",
                 "nomination consent N999 yes"):
        reply = chat.say(line, user="zoe", channel="general")
        text = reply.message.plain_text()
        assert reply.is_error and reply.confidential, line
        # No oracle from a shared place: an unknown code gets the same refusal as a real one.
        assert "this command is confidential" in text and "N999" not in text and "There is no" not in text, text
    assert snapshot(chat.app.engine) == before
    # The anonymous question is refused before its crisis is looked up: a code that does not exist says the same.
    setup_people(chat)
    cid = declare(chat)
    chat.ok(f'crisis announce C{cid} "Read me."', user="dave")
    real = chat.error(f'crisis ask C{cid} "Q?" --anonymous', user="bob", channel="ops")
    assert real == chat.error('crisis ask C99 "Q?" --anonymous', user="bob", channel="ops")


def test_hr_sees_nomination_figures_only_in_private(chat: Chat) -> None:
    setup_hr(chat)
    open_position(chat)
    nominate(chat)
    for line in ("position list", "position show P1"):
        shared = chat.ok(line, user="hannah", channel="general")
        assert "in progress" not in shared and "Nominations (HR)" not in shared, shared
        assert "only in a private conversation" in shared
        private = chat.ok(line, user="hannah", direct=True)
        assert ("1 in progress" if line == "position list" else "Nominations (HR)") in private, private
        assert "only in a private conversation" not in private
    assert "only in a private conversation" not in chat.ok("position list", user="zoe", channel="general")


def test_an_anonymous_consultation_has_no_live_tally_for_anyone(chat: Chat) -> None:
    chat.ok('community create garden "Garden"', user="alice")
    chat.ok("community link garden", user="alice", channel="garden")
    chat.ok("community join garden", user="bob")
    chat.ok('consult open garden "Trust the board?" "Yes" "No" --anonymous', user="alice")
    chat.ok("vote V1 2", user="bob", direct=True)
    for user in ("alice", "bob", "admin", "zoe"):  # manager, voter, administrator, not even a member
        text = chat.ok("consult results V1", user=user)
        assert "shown when it closes. 1 vote so far." in text and "No —" not in text, (user, text)
    preview = chat.ok("digest preview garden", user="alice")
    assert "results when it closes" in preview and "(100%)" not in preview, preview
    chat.ok("consult close V1", user="alice")
    closing = [s.text for s in chat.deliver() if s.target_kind == "channel" and "Results of V1" in s.text]
    assert closing and "2. No — 1 vote (100%)" in closing[0]
    assert "2. No — 1 vote (100%)" in chat.ok("consult results V1", user="zoe")


def test_a_crisis_is_unknown_to_those_outside_its_audience_whatever_its_state(chat: Chat) -> None:
    setup_people(chat)
    cid = declare(chat)
    chat.ok(f'crisis announce C{cid} "Read me."', user="dave")
    unknown = chat.error("crisis status C99", user="eve")
    assert unknown == "There is no crisis C99."
    for line in (f"crisis status C{cid}", f"crisis ack C{cid}", f'crisis ask C{cid} "Why?"'):
        assert chat.error(line, user="eve") == f"There is no crisis C{cid}.", line
    chat.ok(f"crisis close C{cid}", user="dave")  # closed: still nothing to read for eve, not even its state
    for line in (f"crisis status C{cid}", f"crisis ack C{cid}"):
        assert chat.error(line, user="eve") == f"There is no crisis C{cid}.", line
    assert "Site closure" in chat.ok(f"crisis status C{cid}", user="bob")  # its audience still reads it


def test_crisis_remind_opens_one_round_at_a_time(chat: Chat, clock: FrozenClock) -> None:
    setup_people(chat)
    cid = declare(chat)
    chat.ok(f'crisis announce C{cid} "Read me."', user="dave")
    chat.deliver()
    clock.set(datetime(2026, 11, 23, 22, 0, tzinfo=UTC))  # Monday 23:00 in Paris: everyone waits for morning
    assert "0 sent now, 2 waiting" in chat.ok(f"crisis remind C{cid}", user="dave")
    before = snapshot(chat.app.engine)
    for _night in range(5):
        assert "Nothing new was sent" in chat.error(f"crisis remind C{cid}", user="dave")
    assert snapshot(chat.app.engine) == before
    clock.set(datetime(2026, 11, 24, 9, 0, tzinfo=UTC))  # Tuesday 10:00 in Paris: the open round goes out
    run_job(chat)
    assert reminded(chat) == ["alice", "bob"]  # once each, however many times remind was typed at night
    with session_scope(chat.app.engine) as session:
        assert [r.open for r in session.exec(select(CrisisReminderRound))] == [False]
    assert "2 sent now, 0 waiting" in chat.ok(f"crisis remind C{cid}", user="dave")  # a closed round: a new one
    assert reminded(chat) == ["alice", "bob"]


def test_two_reminds_at_once_at_night_open_one_round(chat: Chat, clock: FrozenClock) -> None:
    setup_people(chat)
    cid = declare(chat)
    chat.ok(f'crisis announce C{cid} "Read me."', user="dave")
    chat.deliver()
    clock.set(datetime(2026, 11, 23, 22, 0, tzinfo=UTC))  # 23:00 in Paris: the round stays open till morning
    barrier = threading.Barrier(2)
    replies: list[str] = []

    def remind() -> None:
        barrier.wait()
        replies.append(chat.text(f"crisis remind C{cid}", user="dave"))

    threads = [threading.Thread(target=remind) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted("Nothing new was sent" in r for r in replies) == [False, True], replies
    with session_scope(chat.app.engine) as session:
        assert len(session.exec(select(CrisisReminderRound)).all()) == 1
