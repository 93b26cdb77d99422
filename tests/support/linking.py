"""Joining two accounts as people do it: a code on one account, typed on the other, both confirming."""

from __future__ import annotations

from typing import Any

from tests.support.chat import Chat, found


def link_accounts(chat: Chat, first: dict[str, Any], second: dict[str, Any], code: str | None = None) -> str:
    """`first` asks for a code (unless `code` is given), `second` types it and confirms, then `first`
    confirms; returns the last reply (the accounts are one person). Keyword dicts are `chat.ok`'s."""
    if code is None:
        code = found(r"link code is (\w+)", chat.ok("profile link", **first))
    chat.ok(f"profile link {code}", **second)
    chat.ok("profile link confirm", **second)
    return chat.ok("profile link confirm", **first)
