"""Input as an attacker types it: NUL bytes, hidden characters in identifiers, decomposed accents, and CSV
cells that a spreadsheet would run as formulas. Every test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import csv
import io
import logging

import pytest
from sqlmodel import select

from bot.events import UserInfo
from bot.referrals.export import write_nominations_csv
from storage.db import session_scope
from storage.tables import Account, Community, Person, Position
from tests.bot.referrals.helpers import count, setup_hr
from tests.support.chat import Chat


def _person(chat: Chat, name: str) -> Person:
    with session_scope(chat.app.engine) as session:
        account = session.exec(select(Account).where(Account.user_id == name)).one()
        person = session.get(Person, account.person_id)
        assert person is not None
        return person


@pytest.mark.parametrize("command", ["profile site Ly\x00on", 'community create lyon "Ly\x00on site"',
                                     'nominate P1 @bob "He ran the Kafka\x00 migration in Nantes well"',
                                     "whoknows ka\x00fka"])
def test_a_nul_byte_is_refused_with_a_clear_answer_and_no_traceback(chat: Chat, command: str,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    chat.ok("profile site Paris")
    with caplog.at_level(logging.INFO):
        error = chat.error(command)
    assert "NUL" in error and "U+0000" in error
    assert "Something went wrong" not in error
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert _person(chat, "alice").site == "Paris"  # nothing changed
    assert count(chat, Community) == 0


@pytest.mark.parametrize(("command", "code"), [
    ("community create data\u202escience \"Data science\"", "U+202E"),  # right-to-left override in a slug
    ("community create data-science \"Data\u200b science\"", "U+200B"),  # zero-width space in a name
    ("profile skills kafka, py\u2066thon", "U+2066"),  # bidi isolate in a skill
    ("profile site \"Lyon\u200f\"", "U+200F"),  # right-to-left mark in a site
    ("profile show @bo\u200db", "U+200D"),  # zero-width joiner in a mention
])
def test_hidden_characters_are_refused_in_identifiers(chat: Chat, command: str, code: str) -> None:
    error = chat.error(command)
    assert code in error and "invisible or control character" in error
    assert "\u202e" not in error and "\u2066" not in error  # the value is quoted back without them
    assert count(chat, Community) == 0
    assert _person(chat, "alice").site is None


def test_hidden_characters_are_refused_in_position_names_and_codes(chat: Chat) -> None:
    setup_hr(chat)
    error = chat.error('position open "Data engineer" --site "Ly\u202eon"', user="hannah", direct=True)
    assert "U+202E" in error
    assert count(chat, Position) == 0
    assert "U+200B" in chat.error("nomination show N\u200b1", user="hannah", direct=True)
    assert "U+200B" in chat.error("profile link AB\u200bCDEFG", user="hannah", direct=True)


def test_free_text_keeps_right_to_left_script_and_emoji(chat: Chat) -> None:
    chat.ok('community create data-science "Data science"')
    idea = "\u05e9\u05dc\u05d5\u05dd \u200f — a Hebrew greeting 👩\u200d💻 for newcomers"
    chat.ok("community join data-science", user="bob")
    assert "I1" in chat.ok(f'idea data-science "{idea}"', user="bob")


def test_text_is_normalised_to_nfc(chat: Chat) -> None:
    chat.ok("profile skills cafe\u0301-tasting", user="bob")  # e + combining acute, as some keyboards send it
    assert "bob" in chat.ok("whoknows caf\u00e9-tasting")  # the precomposed é finds it
    chat.ok('profile site "Montre\u0301al"', user="bob")
    assert _person(chat, "bob").site == "Montr\u00e9al"


def test_names_from_the_platform_lose_nul_and_bidi_characters(chat: Chat) -> None:
    chat.ok("role grant @mallory hr", user="admin", users={"mallory": UserInfo("Mal\x00lory\u202e rh")})
    assert _person(chat, "mallory").display_name == "Mallory rh"
    chat.ok("profile show", user="eve\u200b")  # the platform's own name for the caller, too
    with session_scope(chat.app.engine) as session:
        names = [p.display_name for p in session.exec(select(Person))]
    assert all("\x00" not in n and "\u202e" not in n for n in names)


def test_csv_export_cells_cannot_run_as_formulas(chat: Chat) -> None:
    setup_hr(chat)
    chat.ok('position open "=HYPERLINK(1) Data engineer" --site "+33 Lyon" --team "@ops"', user="hannah",
            direct=True)
    argument = "-2+3 she ran the Kafka migration in Nantes and trains the team"
    chat.ok(f'nominate P1 @bob "{argument}"', user="=cmd|' /C calc'!A0", direct=True)
    chat.ok("nomination consent N1 yes", user="bob", direct=True)
    out = io.StringIO()
    with session_scope(chat.app.engine) as session:
        write_nominations_csv(session, out, chat.app.clock.now())
    row = next(csv.DictReader(io.StringIO(out.getvalue())))
    assert row["position_title"] == "'=HYPERLINK(1) Data engineer"
    assert (row["site"], row["team"]) == ("'+33 Lyon", "'@ops")
    assert row["argument"] == "'" + argument
    assert row["nominator"] == "'=cmd|' /C calc'!A0" and row["nominee"] == "bob"
    assert row["days_in_state"] == "0" and row["state"] == "consented"
    for line in out.getvalue().splitlines()[1:]:
        assert not any(cell.startswith(("=", "+", "-", "@")) for cell in next(csv.reader([line])))
