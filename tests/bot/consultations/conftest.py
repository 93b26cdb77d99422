"""Consultation fixtures: a known test clock (the `town` community is in tests/bot/conftest.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.clock import FrozenClock

# A fixed Monday, so closing times and weekly figures fall on known dates.
START = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)
