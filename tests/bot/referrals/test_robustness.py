"""Nominations across a merge of two accounts, and two people nominating the same person at once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import col, select

from bot.events import UserInfo
from bot.referrals import service
from storage.db import session_scope
from storage.tables import Account, Nomination, NominationEvent, NominationSupporter
from tests.bot.referrals.helpers import WHY, count, nominate, open_position, setup_hr
from tests.support.chat import Chat
from tests.support.linking import link_accounts

MATRIX = {"platform": "matrix", "workspace": "example.org", "channel": "!room:example.org"}


def test_merging_two_nominated_accounts_keeps_both_nominations(chat: Chat) -> None:
    setup_hr(chat)
    open_position(chat)
    nominate(chat, who="bob", by="marc")  # N1: bob's console account
    # N2: his Matrix one, confirmed as the Matrix adapter would
    chat.ok(f'nominate P1 @bob:example.org "{WHY}"', user="@lucie:example.org", direct=True, **MATRIX,
            users={"@bob:example.org": UserInfo("bob", found=True)})
    assert "one person" in link_accounts(chat, {"user": "bob", "direct": True},
                                         {"user": "@bob:example.org", "direct": True, **MATRIX})
    with session_scope(chat.app.engine) as session:
        person_id = session.exec(select(Account).where(Account.user_id == "bob")).one().person_id
        rows = list(session.exec(select(Nomination).order_by(col(Nomination.id))))
    assert [n.nominee_id for n in rows] == [person_id, person_id]
    assert [n.unique_key for n in rows] == [f"1:{person_id}", None]
    # the merged person answers both; a third nomination for P1 backs N1, the one in progress
    chat.ok("nomination consent N1 yes", user="bob", direct=True)
    chat.ok("nomination consent N2 no", user="@bob:example.org", direct=True, **MATRIX)
    assert "Nomination N1:" in chat.ok(f'nominate P1 @bob "{WHY}"', user="zoe", direct=True)
    assert count(chat, Nomination) == 2


def test_two_nominations_of_the_same_person_at_once_make_one(chat: Chat) -> None:
    setup_hr(chat)
    open_position(chat)
    for who in ("marc", "lucie", "zoe", "paul"):
        chat.ok("position list", user=who)  # their accounts exist before the race

    def attempt(who: str) -> bool:
        return not chat.say(f'nominate P1 @bob "{WHY}"', user=who, direct=True).is_error

    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = list(pool.map(attempt, ("marc", "lucie", "zoe", "paul")))
    assert outcomes.count(True) == 4  # each gets the same answer: one nomination, three supporters
    assert count(chat, Nomination) == 1 and count(chat, NominationSupporter) == 3
    assert len([s for s in chat.deliver() if s.target_id == "bob"]) == 1  # bob is asked once
    with session_scope(chat.app.engine) as session:
        assert session.exec(select(Nomination)).one().state == service.AWAITING_CONSENT


def test_consent_and_withdraw_at_once_leave_one_outcome(chat: Chat) -> None:
    setup_hr(chat)
    open_position(chat)
    nominate(chat)
    with ThreadPoolExecutor(max_workers=2) as pool:
        consent = pool.submit(chat.say, "nomination consent N1 yes", user="bob", direct=True)
        withdraw = pool.submit(chat.say, "nomination withdraw N1", user="marc", direct=True)
        results = [consent.result(), withdraw.result()]
    with session_scope(chat.app.engine) as session:
        final = session.exec(select(Nomination)).one().state
        history = [(e.from_state, e.to_state) for e in session.exec(select(NominationEvent)
                                                                      .order_by(col(NominationEvent.id)))]
    # every success is one recorded step of a consistent chain; a refused one left no trace
    succeeded = sum(not r.is_error for r in results)
    assert len(history) == 1 + succeeded
    assert all(a[1] == b[0] for a, b in pairwise(history))
    assert history[-1][1] == final and final in (service.CONSENTED, service.WITHDRAWN)


def test_database_errors_never_carry_confidential_values(engine: Engine) -> None:
    """The router logs unexpected errors; SQL parameters (an argument, a note) must not be in them."""
    with pytest.raises(DBAPIError) as caught, engine.connect() as conn:
        conn.execute(text("SELECT * FROM no_such_table WHERE argument = :why"), {"why": WHY})
    assert WHY not in str(caught.value)
