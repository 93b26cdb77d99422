"""`profile link cancel`: either account gives up a pending link; nothing merges and the code is dead."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select

from storage.db import session_scope
from storage.tables import Account, AuditEntry, LinkCode
from tests.support.chat import Chat, found
from tests.support.snapshot import snapshot

ALICE = {"user": "alice", "direct": True}
ALICE_MATRIX = {"user": "@alice:example.org", "platform": "matrix", "workspace": "example.org",
                "channel": "!dm-alice:example.org", "direct": True}
LINK_TABLES = ("linkcode", "auditentry", "outboxmessage")


def _persons(chat: Chat, *users: str) -> set[int]:
    with session_scope(chat.app.engine) as session:
        return {a.person_id for a in session.exec(select(Account).where(col(Account.user_id).in_(users)))}


def _codes(chat: Chat) -> int:
    with session_scope(chat.app.engine) as session:
        return len(session.exec(select(LinkCode)).all())


def _cancel_audits(chat: Chat) -> list[str]:
    with session_scope(chat.app.engine) as session:
        return [a.details for a in session.exec(select(AuditEntry).where(AuditEntry.action == "profile.link_cancel"))]


def _without(rows: dict[str, Any], *tables: str) -> dict[str, Any]:
    return {name: value for name, value in rows.items() if name not in tables}


def test_the_codes_owner_cancels_before_it_is_typed_and_the_code_is_refused(chat: Chat) -> None:
    code = found(r"link code is (\w+)", chat.ok("profile link", **ALICE))
    assert "your link code no longer works" in chat.ok("profile link cancel", **ALICE)
    assert _codes(chat) == 0
    assert len(_cancel_audits(chat)) == 1
    assert "does not exist" in chat.error(f"profile link {code}", **ALICE_MATRIX)
    assert "No account link is waiting" in chat.error("profile link confirm", **ALICE_MATRIX)
    assert "No account link is waiting" in chat.error("profile link confirm", **ALICE)
    assert not chat.deliver()  # nobody else was involved, nobody is told
    assert len(_persons(chat, "alice", "@alice:example.org")) == 2


def test_the_account_that_typed_the_code_cancels_and_the_codes_owner_is_told(chat: Chat) -> None:
    code = found(r"link code is (\w+)", chat.ok("profile link", **ALICE))
    shown = chat.say(f"profile link {code}", **ALICE_MATRIX)
    assert [b.command for b in shown.message.buttons()] == ["profile link confirm", "profile link cancel"]
    before = snapshot(chat.app.engine)
    persons = _persons(chat, "alice", "@alice:example.org")
    done = chat.ok("profile link cancel", **ALICE_MATRIX)
    assert "alice on the console (console:alice) has been told" in done and "has been told in private" in done
    (told,) = chat.deliver()
    assert told.target_id == "alice"
    assert "@alice:example.org on Matrix (matrix:@alice:example.org) cancelled the account link" in told.text
    after = snapshot(chat.app.engine)
    assert _without(after, *LINK_TABLES) == _without(before, *LINK_TABLES)
    assert after["linkcode"] == [] and len(before["linkcode"]) == 1
    assert len(after["auditentry"]) == len(before["auditentry"]) + 1
    assert '"platforms": ["console"]' in _cancel_audits(chat)[0]
    assert _persons(chat, "alice", "@alice:example.org") == persons and len(persons) == 2
    assert "No account link is waiting" in chat.error("profile link confirm", **ALICE)
    assert "does not exist" in chat.error(f"profile link {code}", **ALICE_MATRIX)


def test_cancelling_after_both_steps_but_the_last_tells_the_account_that_confirmed(chat: Chat) -> None:
    code = found(r"link code is (\w+)", chat.ok("profile link", **ALICE))
    chat.ok(f"profile link {code}", **ALICE_MATRIX)
    chat.ok("profile link confirm", **ALICE_MATRIX)
    (ask,) = chat.deliver()
    assert [b.command for b in ask.message.buttons()] == ["profile link confirm", "profile link cancel"]
    chat.ok("profile link cancel", **ALICE)
    (told,) = chat.deliver()
    assert told.target_id == "@alice:example.org" and "cancelled the account link" in told.text
    assert "No account link is waiting" in chat.error("profile link confirm", **ALICE)
    assert len(_persons(chat, "alice", "@alice:example.org")) == 2


def test_cancel_with_nothing_waiting_answers_and_changes_nothing(chat: Chat) -> None:
    chat.ok("profile show", **ALICE)  # alice exists
    before = snapshot(chat.app.engine)
    assert "You have no account link waiting." in chat.ok("profile link cancel", **ALICE)
    assert snapshot(chat.app.engine) == before
    assert not chat.deliver()


def test_a_merged_link_is_not_cancelled(chat: Chat) -> None:
    code = found(r"link code is (\w+)", chat.ok("profile link", **ALICE))
    chat.ok(f"profile link {code}", **ALICE_MATRIX)
    chat.ok("profile link confirm", **ALICE_MATRIX)
    chat.ok("profile link confirm", **ALICE)
    chat.deliver()
    before = snapshot(chat.app.engine)
    assert "You have no account link waiting." in chat.ok("profile link cancel", **ALICE_MATRIX)
    assert snapshot(chat.app.engine) == before


def test_french_words_cancel_a_link(chat: Chat) -> None:
    code = found(r"link code is (\w+)", chat.ok("profile link", **ALICE))
    chat.ok(f"profil lier {code}", **ALICE_MATRIX)
    chat.ok("profil lier annuler", **ALICE_MATRIX)
    assert _codes(chat) == 0
    (told,) = chat.deliver()
    assert told.target_id == "alice" and "cancelled the account link" in told.text
    assert "does not exist" in chat.error(f"profil lier {code}", **ALICE_MATRIX)
    chat.ok("langue fr", **ALICE)
    assert "Vous n'avez aucune liaison de comptes en attente." in chat.ok("profil lier annuler", **ALICE)
    fresh = found(r"code de liaison est (\w+)", chat.ok("profil lier", **ALICE))
    shown = chat.say(f"profil lier {fresh}", **ALICE_MATRIX)  # the Matrix account still speaks English
    assert "profile link cancel" in [b.command for b in shown.message.buttons()]
    chat.ok("profil lier confirmer", **ALICE_MATRIX)
    (ask,) = chat.deliver()
    assert [b.command for b in ask.message.buttons()] == ["profil lier confirmer", "profil lier annuler"]
    assert "Annulé" in chat.ok("profil lier annuler", **ALICE)
