"""Accounts and channels a platform keyed differently before (`Actor.also_known_as`, `Place.also_known_as`):
a Slack workspace's people and channels once the workspace is part of an Enterprise Grid organisation. The
core joins them on first sight. Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace

from sqlmodel import select

from bot.events import Request
from storage.db import session_scope
from storage.tables import Account, Channel
from tests.support.chat import Chat


def _as_org(chat: Chat, text: str, user: str, *, old: tuple[str, ...] = ("old",), channel: str = "hall") -> Request:
    """A request keyed by the organisation "org", whose person was known in the workspaces `old` before."""
    request = chat.request(text, user=user, channel=channel, workspace="org")
    return replace(request, actor=replace(request.actor, also_known_as=tuple((w, user) for w in old)),
                   place=replace(request.place, also_known_as=old))


def _say(chat: Chat, request: Request) -> str:
    reply = chat.app.router.handle(request)
    assert reply is not None and not reply.is_error, reply
    return reply.message.plain_text()


def _keys(chat: Chat, user: str) -> dict[tuple[str, str], int]:
    with session_scope(chat.app.engine) as session:
        return {(a.workspace, a.user_id): a.person_id
                for a in session.exec(select(Account).where(Account.user_id == user))}


def test_first_sight_under_the_organisation_keeps_the_person(chat: Chat) -> None:
    chat.ok("profile skills gardening", user="ana", workspace="old")
    shown = _say(chat, _as_org(chat, "profile show", "ana"))
    assert "gardening" in shown
    keys = _keys(chat, "ana")
    assert set(keys) == {("old", "ana"), ("org", "ana")} and len(set(keys.values())) == 1


def test_two_persons_known_in_two_workspaces_become_one(chat: Chat) -> None:
    chat.ok("profile skills kafka", user="ben", workspace="paris")
    chat.ok("profile skills rust", user="ben", workspace="lyon")
    assert len(set(_keys(chat, "ben").values())) == 2
    shown = _say(chat, _as_org(chat, "profile show", "ben", old=("paris", "lyon")))
    assert "kafka" in shown and "rust" in shown
    assert len(set(_keys(chat, "ben").values())) == 1


def test_a_key_never_seen_becomes_an_account_of_the_person(chat: Chat) -> None:
    _say(chat, _as_org(chat, "profile skills go", "cy", old=("paris", "lyon")))
    keys = _keys(chat, "cy")
    assert set(keys) == {("org", "cy"), ("paris", "cy"), ("lyon", "cy")} and len(set(keys.values())) == 1
    # A request still keyed the old way (a payload without its organisation) finds the same person.
    assert "go" in chat.ok("profile show", user="cy", workspace="lyon")


def test_a_channel_known_under_a_workspace_is_re_keyed_with_its_links(chat: Chat) -> None:
    chat.ok('community create ops "Ops"', user="dan", workspace="old", channel="hall")
    chat.ok("community link ops", user="dan", workspace="old", channel="hall")
    assert "already linked" in _say(chat, _as_org(chat, "community link ops", "dan"))
    with session_scope(chat.app.engine) as session:
        assert [(c.workspace, c.channel_id) for c in session.exec(select(Channel))] == [("org", "hall")]


def test_without_aliases_nothing_is_joined(chat: Chat) -> None:
    chat.ok("profile skills kafka", user="eve", workspace="paris")
    chat.ok("profile show", user="eve", workspace="lyon")
    keys = _keys(chat, "eve")
    assert set(keys) == {("paris", "eve"), ("lyon", "eve")} and len(set(keys.values())) == 2
