"""Fixtures shared by the capability tests."""

from __future__ import annotations

import pytest

from tests.support.chat import Chat


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
