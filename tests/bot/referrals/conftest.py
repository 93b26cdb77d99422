"""Referral fixtures: a position open with an HR person (`hannah`) to handle it."""

from __future__ import annotations

import pytest

from tests.bot.referrals.helpers import open_position, setup_hr
from tests.support.chat import Chat


@pytest.fixture
def opened(chat: Chat) -> Chat:
    """HR (`hannah`) opened P1, and its announcement went out."""
    setup_hr(chat)
    open_position(chat)
    chat.deliver()
    return chat
