"""The home ("what is waiting for me"): the same view as text on every platform, built from every
capability's section, with only what the person may see."""

from __future__ import annotations

from datetime import timedelta

from bot.clock import FrozenClock
from tests.bot.crisis.test_crisis import declare, setup_people
from tests.bot.referrals.helpers import nominate, open_position, setup_hr
from tests.support.chat import Chat


def garden(chat: Chat) -> None:
    chat.ok('community create garden "Garden"', user="alice")
    chat.ok("community link garden", user="alice", channel="garden")


def test_an_unacknowledged_crisis_is_listed_until_acknowledged(chat: Chat) -> None:
    setup_people(chat)
    cid = declare(chat)
    assert "to acknowledge" not in chat.ok("home", user="bob", direct=True)  # not announced yet
    chat.ok(f'crisis announce C{cid} "The Lyon site closes in June."', user="dave")
    home = chat.ok("home", user="bob", direct=True)
    assert "1 crisis announcement to acknowledge" in home
    assert f"C{cid} Site closure: The Lyon site closes in June." in home
    assert f"[Acknowledge] → crisis ack C{cid}" in home
    assert "to acknowledge" not in chat.ok("home", user="eve", direct=True)  # not in the audience
    chat.ok(f"crisis ack C{cid}", user="bob")
    assert "to acknowledge" not in chat.ok("home", user="bob", direct=True)
    chat.ok(f'crisis announce C{cid} "Update: June 30."', user="dave")  # a new announcement: to read again
    assert "Update: June 30." in chat.ok("home", user="bob", direct=True)


def test_communicators_see_acknowledgement_progress_as_a_bar(chat: Chat) -> None:
    setup_people(chat)
    cid = declare(chat)
    home = chat.ok("home", user="dave", direct=True)
    assert "Crises you speak for" in home and f"C{cid} Site closure: not announced yet (2 people)" in home
    chat.ok(f'crisis announce C{cid} "Read me."', user="dave")
    chat.ok(f"crisis ack C{cid}", user="bob")
    progress = f"C{cid} Site closure: posted in {{posted}}/2 channels; ▰▰▰▰▰▱▱▱▱▱ 1/2 acknowledged"
    assert progress.format(posted=0) in chat.ok("home", user="dave", direct=True)  # queued, not yet posted
    chat.deliver()
    assert progress.format(posted=2) in chat.ok("home", user="dave", direct=True)
    assert "Crises you speak for" not in chat.ok("home", user="bob", direct=True)


def test_open_consultations_with_vote_buttons_until_voted(chat: Chat, clock: FrozenClock) -> None:
    garden(chat)
    chat.ok("community join garden", user="bob")
    chat.ok('consult open garden "Which day?" "Monday" "Friday" --closes 2d', user="alice")
    home = chat.ok("home", user="bob", direct=True)
    assert "1 consultation waits for your vote" in home and "V1 in Garden: Which day?" in home
    assert "[1. Monday] → vote V1 1" in home and "[2. Friday] → vote V1 2" in home
    assert "Closes on Nov 25, 2026, 10:00\u202fAM (Paris)" in home  # the default zone: bob set none
    chat.ok("vote V1 2", user="bob")
    assert "waits for your vote" not in chat.ok("home", user="bob", direct=True)
    assert "waits for your vote" not in chat.ok("home", user="eve", direct=True)  # not a member
    clock.advance(timedelta(days=3))
    assert "waits for your vote" not in chat.ok("home", user="alice", direct=True)  # closed


def test_times_are_in_the_readers_zone(chat: Chat) -> None:
    garden(chat)
    chat.ok("community join garden", user="bob", timezone="America/New_York")
    chat.ok('consult open garden "Which day?" "Monday" "Friday" --closes 2d', user="alice")
    assert "Closes on Nov 25, 2026, 4:00\u202fAM (New York)" in chat.ok("home", user="bob", direct=True,
                                                                    timezone="America/New_York")


def test_consent_nominations_and_hr_queue(chat: Chat) -> None:
    setup_hr(chat)
    open_position(chat)
    nominate(chat)  # marc nominates bob
    chat.deliver()
    bob = chat.ok("home", user="bob", direct=True)
    assert "marc put you forward for P1 — Data engineer — Lyon / Platform. Do you agree?" in bob
    assert "[Yes, put me forward] → nomination consent N1 yes" in bob
    assert "[No, thank you] → nomination consent N1 no" in bob
    marc = chat.ok("home", user="marc", direct=True)
    assert "Your nominations" in marc and "N1 — bob for P1 — Data engineer — Lyon / Platform — awaiting consent" in marc
    hannah = chat.ok("home", user="hannah", direct=True)
    assert "HR queue" in hannah and "0 nominations wait for you" in hannah and "bob" not in hannah
    chat.ok("nomination consent N1 yes", user="bob", direct=True)
    assert "Do you agree?" not in chat.ok("home", user="bob", direct=True)
    hannah = chat.ok("home", user="hannah", direct=True)
    assert "1 nomination waits for you" in hannah and "N1 — bob for P1" in hannah
    assert "[under review] → nomination move N1 under_review" in hannah
    assert "HR queue" not in chat.ok("home", user="bob", direct=True)


def test_a_decline_reads_as_closed_to_the_nominator(chat: Chat) -> None:
    setup_hr(chat)
    open_position(chat)
    nominate(chat)
    chat.ok("nomination consent N1 no", user="bob", direct=True)
    marc = chat.ok("home", user="marc", direct=True)
    assert "N1 — bob for P1" in marc and "closed" in marc and "declined" not in marc


def test_communities_and_health_for_managers(chat: Chat) -> None:
    chat.ok('community create garden "Garden"', user="alice")
    chat.ok("community join garden", user="bob")
    bob = chat.ok("home", user="bob", direct=True)
    assert "Your communities" in bob and "Garden (garden)" in bob and "Health" not in bob
    alice = chat.ok("home", user="alice", direct=True)
    assert "Garden (garden) ★" in alice
    assert "Health of the communities you manage (30 days)" in alice and "Active members: 2" in alice


def test_nothing_waiting_and_french(chat: Chat) -> None:
    assert "Nothing is waiting for you" in chat.ok("home", user="zoe", direct=True)
    chat.ok("language fr", user="zoe")
    assert "Rien ne vous attend" in chat.ok("accueil", user="zoe", direct=True)


def test_the_home_is_confidential(chat: Chat) -> None:
    assert chat.say("home", user="bob", channel="general").confidential
