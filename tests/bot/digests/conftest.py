"""Digest fixtures: a future test clock (outbox rows are due from wall-clock time) and a clean live registry."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from bot.clock import FrozenClock
from bot.digests import jobs
from tests.support.chat import Chat

START = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)  # a Monday, 10:00 in Paris: after that week's 09:00 digest


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture(autouse=True)
def _no_live_scheduler() -> Iterator[None]:
    yield
    jobs.LIVE.scheduler, jobs.LIVE.ctx = None, None


@pytest.fixture
def town(chat: Chat) -> Chat:
    """garden: alice manages, bob and carol joined, linked to #garden-room; dave is outside."""
    chat.ok('community create garden "Garden" --topics plants,python', user="alice")
    chat.ok("community link garden", user="alice", channel="garden-room")
    chat.ok("community join garden", user="bob")
    chat.ok("community join garden", user="carol")
    chat.ok("help", user="dave")
    chat.deliver()
    return chat
