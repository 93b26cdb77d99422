"""People: showing someone creates no one, console names ignore case, a revoked role is told."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import col, select

from bot.events import Actor, Place, Request
from storage.db import session_scope
from storage.tables import Account, Person
from tests.support.chat import Chat


def people(chat: Chat) -> int:
    with session_scope(chat.app.engine) as session:
        return int(session.exec(select(func.count()).select_from(Person)).one())


def test_showing_an_unknown_person_creates_no_one(chat: Chat) -> None:
    chat.ok("help", user="alice")
    before = people(chat)
    assert "Cercle does not know @nobody yet" in chat.error("profile show @nobody", user="alice")
    assert people(chat) == before
    # ... so a typo never joins a crisis audience.
    chat.ok('crisis declare "Outage" --audience all', user="admin")
    assert "Audience: 2 people" in chat.ok("crisis status C1", user="admin")  # admin and alice, not nobody
    chat.ok("profile site Lyon", user="bob")
    assert "Site: Lyon" in chat.ok("profile show @bob", user="alice")


def test_console_names_ignore_case(chat: Chat) -> None:
    chat.ok("profile site Lyon", user="alice")
    for mention in ("@ALICE", "@Alice", "@alice"):
        assert "Site: Lyon" in chat.ok(f"profile show {mention}", user="bob")
    chat.ok("role grant @Hannah hr", user="admin")
    chat.ok("role grant @HANNAH hr", user="admin")  # the same person: "already has"
    with session_scope(chat.app.engine) as session:
        assert [a.user_id for a in session.exec(select(Account).where(col(Account.user_id).in_(
            ["hannah", "Hannah", "HANNAH"])))] == ["hannah"]


def test_console_adapter_lowercases_who_is_typing(chat: Chat) -> None:
    from adapters.console.adapter import ConsoleSession

    assert ConsoleSession("ALICE", "general").user == "alice"
    place = Place("console", "local", "general")
    chat.app.router.handle(Request(Actor("console", "local", "alice", "alice"), place, "profile site Lyon"))
    assert "Site: Lyon" in chat.ok("profile show @ALICE", user="bob")


def test_role_revoke_tells_the_person_in_their_language(chat: Chat) -> None:
    chat.ok("langue fr", user="hannah")
    chat.ok("role grant @hannah hr", user="admin")
    chat.deliver()
    chat.ok("role revoke @hannah hr", user="admin")
    [told] = chat.deliver()
    assert told.target_kind == "dm" and told.target_id == "hannah"
    assert told.text == "admin vous a retiré le rôle rh dans Cercle."


def test_role_list_sorts_names_naturally(chat: Chat) -> None:
    for name in ("user10", "user2", "user1"):
        chat.ok(f"role grant @{name} hr", user="admin")
    text = chat.ok("role list", user="bob")
    assert text.index("user1\n") < text.index("user2") < text.index("user10")
