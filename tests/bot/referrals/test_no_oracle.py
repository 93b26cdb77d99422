"""No oracle in `nominate`: whoever nominates a person already nominated (HR included) gets the answer the
first nominator got, the nominee is asked once, finished nominations block nothing, and one person cannot
send hundreds of consent requests."""

from __future__ import annotations

import dataclasses
import re

import pytest

from bot.app import build
from bot.clock import FrozenClock
from bot.referrals import service
from bot.settings import Settings, load_settings
from storage.tables import Nomination, NominationSupporter
from tests.bot.referrals.helpers import WHY, count, nominate, open_position, setup_hr, snapshot
from tests.support.chat import Chat

OTHER = "Bob rebuilt the billing pipeline alone and documents everything he does."


def _answer_shape(text: str) -> str:
    return re.sub(r"\bN\d+\b", "N?", text)


def test_a_second_nomination_gets_the_same_answer_and_the_nominee_is_asked_once(opened: Chat) -> None:
    chat = opened
    first = nominate(chat, by="marc")
    again = chat.ok(f'nominate P1 @bob "{OTHER}"', user="hannah", direct=True)  # HR tries the oracle
    assert _answer_shape(again) == _answer_shape(first)
    assert "already" not in again
    assert count(chat, Nomination) == 1 and count(chat, NominationSupporter) == 1
    asks = [s for s in chat.deliver() if s.target_id == "bob"]
    assert len(asks) == 1 and WHY in asks[0].text and OTHER not in asks[0].text

    # Each nominator sees their own nomination and argument, never the other's.
    hannah_view = chat.ok("nomination show N1", user="hannah", direct=True)
    assert OTHER in hannah_view and WHY not in hannah_view and "marc" not in hannah_view
    assert OTHER not in chat.ok("nomination show N1", user="marc", direct=True)

    # Once bob consents, both nominators hear it, and HR (henry) reads both arguments.
    setup_hr(chat, "henry")
    chat.ok("nomination consent N1 yes", user="bob", direct=True)
    told = [s.target_id for s in chat.deliver() if "agreed to be put forward" in s.text]
    assert sorted(told) == ["hannah", "marc"]
    hr_view = chat.ok("nomination show N1", user="henry", direct=True)
    assert WHY in hr_view and OTHER in hr_view and "Also nominated by hannah" in hr_view


def test_after_a_decline_hr_learns_nothing_from_nominating_again(opened: Chat) -> None:
    chat = opened
    nominate(chat, by="marc")
    chat.ok("nomination consent N1 no", user="bob", direct=True)
    chat.deliver()
    reply = chat.ok(f'nominate P1 @bob "{OTHER}"', user="hannah", direct=True)
    assert "Nomination N2" in reply and "asked bob" in reply  # a fresh nomination, asked afresh
    asks = [s for s in chat.deliver() if s.target_id == "bob"]
    assert len(asks) == 1 and OTHER in asks[0].text


@pytest.mark.parametrize("finish", ["withdraw", "lapse", "reject"])
def test_finished_nominations_do_not_block_new_ones(opened: Chat, clock: FrozenClock, finish: str) -> None:
    chat = opened
    nominate(chat, by="marc")
    if finish == "withdraw":
        chat.ok("nomination withdraw N1", user="marc", direct=True)
    elif finish == "lapse":
        from bot.referrals import jobs

        clock.advance(service.CONSENT_REMINDER_AFTER)
        jobs.consent_reminders(chat.app.job_context())
        clock.advance(service.CONSENT_LAPSE_AFTER)
        jobs.consent_reminders(chat.app.job_context())
    else:
        chat.ok("nomination consent N1 yes", user="bob", direct=True)
        chat.ok("nomination move N1 rejected", user="hannah", direct=True)
    assert "Nomination N2" in chat.ok(f'nominate P1 @bob "{OTHER}"', user="lucie", direct=True)
    assert count(chat, Nomination) == 2


def test_a_supporter_withdrawing_leaves_the_nomination_going(opened: Chat) -> None:
    chat = opened
    nominate(chat, by="marc")
    chat.ok(f'nominate P1 @bob "{OTHER}"', user="lucie", direct=True)
    chat.deliver()
    assert "no longer goes forward in your name" in chat.ok("nomination withdraw N1", user="marc", direct=True)
    assert not [s for s in chat.deliver() if s.target_id == "bob"]  # bob is not told of a withdrawal
    assert "N1 — bob for P1" in chat.ok("nomination list", user="lucie", direct=True)
    assert OTHER in chat.ok("nomination show N1", user="lucie", direct=True)
    chat.error("nomination show N1", user="marc", direct=True)
    assert "withdrawn" in chat.ok("nomination withdraw N1", user="lucie", direct=True)  # the last one: over
    assert any(s.target_id == "bob" and "withdrawn" in s.text for s in chat.deliver())


def test_one_person_may_make_only_so_many_nominations_a_day(opened: Chat, clock: FrozenClock) -> None:
    chat = opened
    for i in range(10):
        chat.ok(f'nominate P1 @person{i} "{WHY} https://example.org/{i}"', user="spammer", direct=True)
    before = snapshot(chat)
    refused = chat.error(f'nominate P1 @person10 "{WHY}"', user="spammer", direct=True)
    assert "10 nominations in the last 24 hours" in refused and "tomorrow" in refused
    assert snapshot(chat) == before
    refused = chat.error(f'nominate P1 @person0 "{WHY}"', user="spammer", direct=True)  # supporting counts too
    assert "last 24 hours" in refused
    clock.advance(service.CONSENT_REMINDER_AFTER / 7)
    assert "Nomination N11" in chat.ok(f'nominate P1 @person10 "{WHY}"', user="spammer", direct=True)


def test_the_daily_limit_is_a_setting(chat: Chat, settings: Settings, clock: FrozenClock) -> None:
    assert load_settings({"CERCLE_NOMINATIONS_PER_DAY": "3"}, None, platforms=chat.app.platforms
                         ).nominations_per_day == 3
    with pytest.raises(ValueError, match="CERCLE_NOMINATIONS_PER_DAY"):
        load_settings({"CERCLE_NOMINATIONS_PER_DAY": "0"}, None, platforms=chat.app.platforms)
    app = build(dataclasses.replace(settings, nominations_per_day=2), clock=clock, migrate=False,
                engine=chat.app.engine)
    small = Chat(app)
    setup_hr(small)
    open_position(small)
    nominate(small, who="a")
    nominate(small, who="b")
    assert "2 nominations in the last 24 hours" in small.error(f'nominate P1 @c "{WHY}"', user="marc", direct=True)
