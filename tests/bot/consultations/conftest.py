"""A community with a manager (alice), two members (bob, carol), a linked channel and an outsider (dave)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.clock import FrozenClock
from tests.support.chat import Chat

# Outbox rows are due from the wall-clock time they are written (bot.delivery), so the test clock
# must be ahead of the real one for `chat.deliver()` to see them: a fixed Monday in the future.
START = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def town(chat: Chat) -> Chat:
    chat.ok('community create garden "Garden" --topics plants,python', user="alice")
    chat.ok("community link garden", user="alice", channel="garden-room")
    chat.ok("community join garden", user="bob")
    chat.ok("community join garden", user="carol")
    chat.ok("help", user="dave")
    chat.deliver()
    return chat
