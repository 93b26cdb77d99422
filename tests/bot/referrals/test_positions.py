"""Positions: who may open and close them, what is listed, and the announcement in communities."""

from __future__ import annotations

from datetime import timedelta

from bot.app import Application
from bot.clock import FrozenClock
from bot.messages import Visibility
from storage.tables import Nomination, Position
from tests.bot.referrals.helpers import WHY, count, open_position, setup_hr
from tests.support.chat import Chat
from tests.support.snapshot import snapshot


def _community(chat: Chat, slug: str, topics: str, channel: str) -> None:
    chat.ok(f'community create {slug} "{slug.title()}" --topics {topics}', user="carla")
    chat.ok(f"community link {slug}", user="carla", channel=channel)


def test_open_announces_in_matching_communities_only(chat: Chat) -> None:
    setup_hr(chat)
    _community(chat, "data", "kafka,spark", "data")
    _community(chat, "events", "python", "events")
    _community(chat, "cooking", "recipes", "cooking")
    chat.deliver()
    reply = open_position(chat, "--skills kafka,python --closes 2026-12-31")
    assert "Position P1 opened: Data engineer." in reply and "2 community channels" in reply
    sent = chat.deliver()
    channels = sorted(s.target_id for s in sent if s.target_kind == "channel")
    assert channels == ["data", "events"]
    announcement = next(s for s in sent if s.target_id == "data")
    assert "P1: Data engineer at Lyon" in announcement.text
    [button] = announcement.message.buttons()
    assert button.form is not None and button.form.command == "nominate P1 {person} {why}"
    assert [f.name for f in button.form.fields] == ["person", "why"]


def test_only_hr_opens_and_closes(chat: Chat) -> None:
    before = snapshot(chat.app.engine)
    error = chat.error('position open "Chef" --site Lyon', user="zoe")
    assert "Only HR people may do this" in error
    assert "Only HR people may do this" in chat.error('position open "Chef" --site Lyon', user="admin")
    assert snapshot(chat.app.engine) == before
    setup_hr(chat)
    open_position(chat)
    before = snapshot(chat.app.engine)
    assert "Only HR people may do this" in chat.error("position close P1", user="zoe")
    assert "Only HR people may do this" in chat.error("position close P1", user="admin")
    assert snapshot(chat.app.engine) == before
    assert "is closed" in chat.ok("position close P1", user="hannah")
    assert "already closed" in chat.error("position close P1", user="hannah")


def test_bad_position_input(chat: Chat) -> None:
    setup_hr(chat)
    before = snapshot(chat.app.engine)
    assert "--site" in chat.error('position open "Chef"', user="hannah")
    assert "Missing argument" in chat.error("position open --site Lyon", user="hannah")
    assert "in the past" in chat.error('position open "Chef" --site Lyon --closes 2020-01-01', user="hannah")
    assert "not a code like P3" in chat.error("position close X9", user="hannah")
    assert "There is no position P42" in chat.error("position close P42", user="hannah")
    assert snapshot(chat.app.engine) == before


def test_list_filters_and_hides_closed_and_expired(chat: Chat, clock: FrozenClock) -> None:
    setup_hr(chat)
    open_position(chat, "--skills kafka")
    chat.ok('position open "Baker" --site Nantes --skills bread --closes 2d', user="hannah")
    chat.ok('position open "Nurse" --site Lyon --skills care', user="hannah")
    listing = chat.ok("position list", user="zoe")
    assert "P1 — Data engineer" in listing and "P2 — Baker" in listing and "P3 — Nurse" in listing
    assert "P2" not in chat.ok("position list --skill kafka", user="zoe")
    only_lyon = chat.ok("position list --site lyon", user="zoe")
    assert "P1" in only_lyon and "P3" in only_lyon and "P2" not in only_lyon
    assert "No open position matches" in chat.ok("poste liste --skill cobol", user="zoe")
    chat.ok("position close P3", user="hannah")
    clock.advance(timedelta(days=3))
    listing = chat.ok("position list", user="zoe")
    assert "P1" in listing and "P2" not in listing and "P3" not in listing
    # nominations for closed or expired positions are refused, and nothing is stored
    for code in ("P2", "P3"):
        assert f"The position {code} is closed" in chat.error(f'nominate {code} @bob "{WHY}"', user="marc", direct=True)
    assert count(chat, Nomination) == 0 and count(chat, Position) == 3


def test_replies_are_private(chat: Chat) -> None:
    setup_hr(chat)
    for text, user in (('position open "Chef" --site Lyon', "hannah"), ("position list", "zoe")):
        reply = chat.say(text, user=user, channel="general")
        assert not reply.is_error and reply.visibility is Visibility.PRIVATE
    for text, user in ((f'nominate P1 @bob "{WHY}"', "marc"), ("nomination list", "marc"),
                       ("nomination show N1", "bob"), ("nomination consent N1 yes", "bob"),
                       ("nomination move N1 under_review", "hannah")):
        refused = chat.say(text, user=user, channel="general")  # a channel reads what is typed there
        assert refused.is_error and refused.confidential and refused.visibility is Visibility.PRIVATE
        reply = chat.say(text, user=user, direct=True)
        assert not reply.is_error and reply.visibility is Visibility.PRIVATE


def test_french_words_keep_one_meaning(app: Application) -> None:
    from bot.referrals import CAPABILITY

    words = CAPABILITY.aliases
    assert {word: app.assembly.registry.aliases[word] for word, _c in words} == dict(words)


def test_role_revoke_in_french_still_works(chat: Chat) -> None:
    setup_hr(chat)
    assert "no longer has the hr role" in chat.ok("rôle retirer @hannah hr", user="admin")
