"""Digest fixtures: a known test clock (a Monday) and a clean live registry (`town` is in tests/bot/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from bot.clock import FrozenClock
from bot.digests import jobs

START = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)  # a Monday, 10:00 in Paris: after that week's 09:00 digest


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture(autouse=True)
def _no_live_scheduler() -> Iterator[None]:
    yield
    jobs.LIVE.scheduler, jobs.LIVE.ctx = None, None
