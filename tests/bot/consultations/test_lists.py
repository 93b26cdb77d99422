"""Seeing consultations and ideas: `consult list <slug>` and `idea show <I-code>`, in both languages."""

from __future__ import annotations

from datetime import timedelta

from bot.clock import FrozenClock
from tests.support.chat import Chat, bullets


def test_consult_list_shows_open_ones_first_then_closed(town: Chat, clock: FrozenClock) -> None:
    assert "No consultation in Garden yet." in town.ok("consult list garden", user="dave")
    town.ok('consult open garden "Where?" "Lyon" "Paris"', user="alice")
    town.ok('consult open garden "When?" "May" "June" --closes 2d', user="alice")
    town.ok('consult open garden "Budget?" "More" "Less" --hidden --anonymous', user="alice")
    town.ok("vote V1 2", user="bob", direct=True)
    town.ok("vote V1 1", user="carol", direct=True)
    town.ok("vote V3 1", user="bob", direct=True)
    town.ok("consult close V1", user="alice")
    town.ok('consult answer V1 "Lyon it is"', user="alice")
    clock.advance(timedelta(hours=1))
    text = town.ok("consult list garden", user="dave")  # anyone may see them, as consult results
    lines = bullets(text)
    assert lines == ["V2 — When? — open until Jan 9, 2030, 10:00\u202fAM (Paris), 0 votes",
                     "V3 — Budget? — open, 1 vote",
                     "V1 — Where? — closed, decided, 2 votes"]
    assert "Details: consult results <V-code>." in text
    town.ok("langue fr", user="dave")
    french = town.ok("consultation liste garden", user="dave")
    assert "V1 — Where? — close, décidée, 2 votes" in french and "consultation résultats <code V>" in french


def test_idea_show_gives_the_idea_its_support_and_answer(town: Chat) -> None:
    town.ok('idea garden "A seed swap every spring"', user="bob")
    shown = town.say("idea show I1", user="carol")
    text = shown.message.plain_text()
    assert "Idea I1 in Garden" in text and "A seed swap every spring" in text and "Proposed by: bob" in text
    assert "Support: 0 upvotes" in text and "Status: Open" in text
    assert [b.command for b in shown.message.buttons()] == ["idea upvote I1"]  # carol may upvote
    town.ok("idea upvote I1", user="carol")
    again = town.say("idea show I1", user="carol").message
    assert "1 upvote (yours among them)" in again.plain_text() and again.buttons() == []
    assert town.say("idea show I1", user="bob").message.buttons() == []  # not one's own
    assert town.say("idea show I1", user="dave").message.buttons() == []  # not a member
    town.ok('idea answer I1 "Yes, in March." --status accepted', user="alice")
    answered = town.ok("idea show 1", user="dave")
    assert "Status: Accepted" in answered and "Answer from alice" in answered and "Yes, in March." in answered
    assert "There is no idea I9." in town.error("idea show I9", user="dave")
    town.ok("langue fr", user="carol")
    assert "Idée I1 dans Garden" in town.ok("idée afficher I1", user="carol")
