"""Open positions appear in the digests of the communities whose topics match their skills."""

from __future__ import annotations

from datetime import timedelta

from bot.clock import FrozenClock
from tests.bot.referrals.helpers import nominate, open_position, setup_hr
from tests.support.chat import Chat


def test_matching_open_positions_are_in_the_digest_without_nominations(chat: Chat, clock: FrozenClock) -> None:
    chat.ok('community create data "Data" --topics python', user="alice")
    chat.ok('community create design "Design" --topics ux', user="alice")
    setup_hr(chat)
    open_position(chat)  # P1, skills kafka, python
    chat.ok('position open "Closed one" --site Paris --skills python', user="hannah", direct=True)
    chat.ok("position close P2", user="hannah", direct=True)
    nominate(chat)
    clock.advance(timedelta(hours=1))
    data = chat.ok("digest preview data", user="alice")
    assert "Open positions matching this community" in data
    assert "P1 — Data engineer (Lyon, Platform)" in data
    assert "Closed one" not in data and "bob" not in data and "Kafka migration" not in data
    assert "Data engineer" not in chat.ok("digest preview design", user="alice")
    chat.ok("language fr", user="alice")
    assert "Postes ouverts" in chat.ok("digest preview data", user="alice")
