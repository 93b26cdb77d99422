"""Edges: one person with two accounts, archived communities, Matrix reactions as votes."""

from __future__ import annotations

from sqlmodel import col, select

from storage.db import session_scope
from storage.tables import ConsultationOption, ConsultationVoter, Idea, IdeaUpvote
from tests.support.chat import Chat
from tests.support.linking import link_accounts

MATRIX = {"platform": "matrix", "workspace": "example.org", "user": "@bob:example.org"}


def test_linking_two_accounts_keeps_one_vote_and_one_upvote(town: Chat) -> None:
    town.ok('consult open garden "Where?" "Lyon" "Paris"', user="alice")
    town.ok('idea garden "Compost"', user="carol")
    town.ok("vote V1 1", user="bob")
    town.ok("idea upvote I1", user="bob")
    town.ok("community join garden", **MATRIX)
    town.ok("vote V1 2", **MATRIX)
    town.ok("idea upvote I1", **MATRIX)
    link_accounts(town, {"user": "bob"}, MATRIX)
    with session_scope(town.app.engine) as session:
        assert len(session.exec(select(ConsultationVoter)).all()) == 1
        assert [o.votes for o in session.exec(select(ConsultationOption).order_by(col(ConsultationOption.number)))] \
            == [1, 0]
        assert len(session.exec(select(IdeaUpvote)).all()) == 1
        idea = session.get(Idea, 1)
        assert idea is not None and idea.upvotes == 1
    assert "Your vote: 1." in town.ok("consult results V1", **MATRIX)


def test_archived_community_is_read_only(town: Chat) -> None:
    town.ok('consult open garden "Where?" "Lyon" "Paris"', user="alice")
    town.ok('idea garden "Compost"', user="carol")
    town.ok("community archive garden", user="alice")
    assert "archived" in town.error("vote V1 1", user="bob")
    assert "archived" in town.error("idea upvote I1", user="bob")
    assert "archived" in town.error('idea garden "Another"', user="bob")
    assert "archived" in town.error('consult open garden "Q?" "a" "b"', user="alice")
    assert "1. Lyon — 0 votes" in town.ok("consult results V1", user="bob")


def test_a_retried_vote_event_counts_once(town: Chat) -> None:
    town.ok('consult open garden "Where?" "Lyon" "Paris"', user="alice")
    town.ok("vote V1 1", user="bob", event_key="evt-1")
    assert town.app.router.handle(town.request("vote V1 1", user="bob", event_key="evt-1")) is None
    with session_scope(town.app.engine) as session:
        assert [o.votes for o in session.exec(select(ConsultationOption).order_by(col(ConsultationOption.number)))] \
            == [1, 0]
