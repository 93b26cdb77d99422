"""Arbitrary text thrown at the parser and the router: nothing escapes, everything gets a reply."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app import Application
from bot.commands.grammar import ParseError, tokenize
from tests.support.chat import Chat

WORDS = ["community", "create", "join", "leave", "info", "link", "promote", "archive", "profile", "skills",
         "site", "show", "whoknows", "share", "resources", "role", "grant", "revoke", "language", "help",
         "aide", "communauté", "ds", "data-science", "@bob", "#general", "--topics", "--purpose", "--tag",
         '"', "“", "«", "»", ",", "http://x.org", "V2", "P3", "0", "-1", "\x00", "\n", "é", "💥"]

command_like = st.lists(st.sampled_from(WORDS) | st.text(max_size=12), min_size=0, max_size=8).map(" ".join)


@given(st.text(max_size=300))
@settings(max_examples=300, deadline=None)
def test_tokenizer_either_tokenizes_or_explains(text: str) -> None:
    try:
        tokens = tokenize(text)
    except ParseError as exc:
        assert str(exc)
        return
    assert all(isinstance(t.text, str) for t in tokens)


@given(text=st.text(max_size=200) | command_like, user=st.sampled_from(["alice", "bob", "admin"]))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_router_answers_every_input(app: Application, chat: Chat, text: str, user: str) -> None:
    outcome = app.router.handle_outcome(chat.request(text, user=user))
    assert outcome.reply is not None
    assert not outcome.internal_error, f"{text!r} raised inside the router"
    assert outcome.reply.message.plain_text().strip()
