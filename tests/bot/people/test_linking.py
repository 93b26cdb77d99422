"""`profile link` with both accounts confirming, tried as the issue's attacker did: get HR to type a code
the attacker generated, hoping to hold HR's role."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import col, select

from bot.clock import FrozenClock
from storage.db import session_scope
from storage.tables import Account
from tests.support.chat import Chat, found
from tests.support.linking import link_accounts

MALLORY = {"user": "@mallory:example.org", "platform": "matrix", "workspace": "example.org",
           "channel": "!dm-mallory:example.org", "direct": True}
HANNAH = {"user": "hannah", "direct": True}


def _persons(chat: Chat, *users: str) -> set[int]:
    with session_scope(chat.app.engine) as session:
        return {a.person_id for a in session.exec(select(Account).where(col(Account.user_id).in_(users)))}


def test_typing_an_attackers_code_joins_nothing_and_shows_whose_it_is(chat: Chat, clock: FrozenClock) -> None:
    chat.ok("role grant @hannah hr", user="admin")
    code = found(r"link code is (\w+)", chat.ok("profile link", **MALLORY))
    shown = chat.ok(f"profile link {code}", **HANNAH)  # HR is tricked into typing it
    assert "This will join your account with @mallory:example.org on Matrix (matrix:@mallory:example.org)" in shown
    assert "profile link confirm" in shown
    assert len(_persons(chat, "hannah", "@mallory:example.org")) == 2  # nothing joined yet
    # The attacker cannot finish alone: the link waits for hannah's confirmation, which never comes.
    assert "No account link is waiting" in chat.error("profile link confirm", **MALLORY)
    assert "hr" not in chat.ok("profile show", **MALLORY).split("Roles:")[1].split("\n")[0]
    clock.advance(timedelta(minutes=11))
    assert "No account link is waiting" in chat.error("profile link confirm", **HANNAH)
    assert "No account link is waiting" in chat.error("profile link confirm", **MALLORY)
    assert len(_persons(chat, "hannah", "@mallory:example.org")) == 2


def test_both_accounts_confirm_each_seeing_the_other_and_both_are_told(chat: Chat) -> None:
    alice_slack = {"user": "U1", "platform": "slack", "workspace": "T1", "channel": "D1", "direct": True}
    alice_matrix = {"user": "@alice:example.org", "platform": "matrix", "workspace": "example.org",
                    "channel": "!dm:example.org", "direct": True}
    code = found(r"link code is (\w+)", chat.ok("profile link", **alice_slack))
    chat.ok(f"profile link {code}", **alice_matrix)
    assert not chat.deliver()  # nothing asked of the Slack account before the Matrix one confirms
    confirmed = chat.ok("profile link confirm", **alice_matrix)
    assert "U1 on Slack (slack:T1:U1) must now confirm too" in confirmed
    (ask,) = chat.deliver()
    assert (ask.platform, ask.target_id) == ("slack", "U1")
    assert "@alice:example.org on Matrix (matrix:@alice:example.org) asks to join your account" in ask.text
    assert [b.command for b in ask.message.buttons()] == ["profile link confirm", "profile link cancel"]
    assert len(_persons(chat, "U1", "@alice:example.org")) == 2
    done = chat.ok("profile link confirm", **alice_slack)
    assert "your accounts are now one person" in done
    assert len(_persons(chat, "U1", "@alice:example.org")) == 1
    (told,) = chat.deliver()
    assert (told.platform, told.target_id) == ("matrix", "@alice:example.org")
    assert "now joined with U1 on Slack (slack:T1:U1)" in told.text


def test_a_claimed_code_is_nobody_elses_and_confirming_needs_a_waiting_link(chat: Chat) -> None:
    code = found(r"link code is (\w+)", chat.ok("profile link", user="alice"))
    chat.ok(f"profile link {code}", **MALLORY)
    bob = {"user": "@bob:example.org", "platform": "matrix", "workspace": "example.org"}
    assert "already been used" in chat.error(f"profile link {code}", **bob)
    assert "No account link is waiting" in chat.error("profile link confirm", **bob)
    assert "No account link is waiting" in chat.error("profile link confirm", user="zoe")
    assert "one person" in link_accounts(chat, {"user": "alice"}, MALLORY, code=code)


def test_french_words_confirm_a_link(chat: Chat) -> None:
    code = found(r"link code is (\w+)", chat.ok("profile link", user="alice"))
    chat.ok(f"profil lier {code}", **MALLORY)
    chat.ok("profil lier confirmer", **MALLORY)
    assert "one person" in chat.ok("profil lier confirmer", user="alice")
