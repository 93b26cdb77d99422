"""Ideas: members propose, others upvote once, managers answer in public with a status."""

from __future__ import annotations

from sqlmodel import select

from storage.db import session_scope
from storage.tables import Idea, IdeaUpvote
from tests.support.chat import Chat


def _idea(chat: Chat, number: int) -> Idea:
    with session_scope(chat.app.engine) as session:
        idea = session.get(Idea, number)
        assert idea is not None
        return idea


def test_propose_upvote_answer(town: Chat) -> None:
    assert "I1" in town.ok('idea garden "A seed swap every spring"', user="bob")
    sent = town.deliver()
    assert len(sent) == 1 and "bob proposes: A seed swap every spring" in sent[0].text
    assert sent[0].message.buttons()[0].command == "idea upvote I1"
    assert "1 upvote" in town.ok("idea upvote I1", user="carol")
    assert "2 upvotes" in town.ok("idée soutenir 1", user="alice")
    town.ok('idea answer I1 "Yes, first one in March." --status acceptée', user="alice")
    sent = town.deliver()
    [post] = [s for s in sent if s.target_kind == "channel"]
    assert "I1 in Garden: Accepted" in post.text and "alice answers: Yes, first one in March." in post.text
    [told] = [s for s in sent if s.target_kind == "dm"]  # the author hears it in private
    assert told.target_id == "bob" and "alice answered your idea I1 in Garden: Accepted." in told.text
    assert "Yes, first one in March." in told.text
    idea = _idea(town, 1)
    assert (idea.status, idea.upvotes, idea.answer) == ("accepted", 2, "Yes, first one in March.")
    assert "I1 — A seed swap every spring (2 upvotes, Accepted)" in town.ok("idea list garden", user="dave")


def test_idea_rules_change_nothing(town: Chat) -> None:
    town.ok('idea garden "Compost bins"', user="bob")
    assert "Join 'garden' first" in town.error('idea garden "From outside"', user="dave")
    assert "your own idea" in town.error("idea upvote I1", user="bob")
    assert "Join 'garden' first" in town.error("idea upvote I1", user="dave")
    town.ok("idea upvote I1", user="carol")
    assert "already upvoted" in town.error("idea upvote I1", user="carol")
    assert "no idea I7" in town.error("idea upvote I7", user="carol")
    assert "Only the managers" in town.error('idea answer I1 "No"', user="carol")
    assert "is not one of" in town.error('idea answer I1 "No" --status maybe', user="alice")
    assert "Missing argument" in town.error("idea answer I1", user="alice")
    assert "no community 'nowhere'" in town.error('idea nowhere "x"', user="bob")
    idea = _idea(town, 1)
    assert (idea.status, idea.upvotes, idea.answer) == ("open", 1, None)
    with session_scope(town.app.engine) as session:
        assert len(session.exec(select(IdeaUpvote)).all()) == 1
        assert len(session.exec(select(Idea)).all()) == 1


def test_declined_idea_takes_no_upvote_and_french_status(town: Chat) -> None:
    town.ok('idea garden "Paint the shed pink"', user="bob")
    town.ok('idea answer I1 "Not this year." --status refusée', user="alice")
    assert _idea(town, 1).status == "declined"
    assert "declined" in town.error("idea upvote I1", user="carol")


def test_command_words_cannot_be_community_slugs(town: Chat) -> None:
    assert "command word" in town.error('community create upvote "Upvote"', user="alice")
    assert "command word" in town.error('community create answer "Answer"', user="alice")


def test_unknown_things_are_named_in_the_reply(town: Chat) -> None:
    assert "There is no consultation V9" in town.error("consult results V9", user="bob")
    assert "There is no consultation V9" in town.error("consult close V9", user="alice")
    assert "There is no consultation V9" in town.error('consult answer V9 "x"', user="alice")
    assert "There is no idea I9" in town.error('idea answer I9 "x"', user="alice")
    assert "no community 'nowhere'" in town.error("idea list nowhere", user="bob")
    assert "No idea in Garden yet" in town.ok("idea list garden", user="bob")
