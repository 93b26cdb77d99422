"""Replies that fit the moment: a guess at a mistyped subcommand, the usage line only when the usage was wrong,
durations read as people write them, slugs in any case, and lists that page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.app import default_platforms
from bot.clock import FrozenClock
from bot.commands.grammar import tokenize
from bot.commands.paging import natural_key, paginate
from bot.commands.registry import CSV, TEXT, WHEN, Arg, Command, ConvertEnv
from bot.consultations.jobs import close_due
from bot.errors import UserError
from bot.messages import Reply
from tests.support.chat import Chat

ENV = ConvertEnv(default_platforms()["console"], "local", datetime(2026, 11, 23, 9, 0, tzinfo=UTC), "Europe/Paris")


def _bind(arg: Arg, line: str) -> object:
    cmd = Command(("x",), lambda ctx, **kw: Reply.private("ok"), "x", "x", (arg,))
    return cmd.bind(tokenize(line), ENV)[arg.name]


@pytest.mark.parametrize(("typed", "delta"), [
    ("30s", timedelta(seconds=30)), ("45sec", timedelta(seconds=45)), ("1m", timedelta(minutes=1)),
    ("30min", timedelta(minutes=30)), ("4h", timedelta(hours=4)), ("2d", timedelta(days=2)),
    ("2j", timedelta(days=2)), ("1w", timedelta(weeks=1)), ("2sem", timedelta(weeks=2)),
])
def test_durations_mean_what_people_write(typed: str, delta: timedelta) -> None:
    """`30s` is thirty seconds (it used to be thirty weeks); `1m` one minute."""
    assert _bind(Arg("when", WHEN), typed) == ENV.now + delta


def test_a_closing_in_30_seconds_closes_30_seconds_later(town: Chat, clock: FrozenClock) -> None:
    town.ok('consult open garden "Now?" "yes" "no" --closes 30s', user="alice")
    [post] = town.deliver()
    assert "Closes on Nov 23, 2026, 10:00" in post.text  # today, in Paris; not thirty weeks later
    assert close_due(town.app.job_context()) == 0
    clock.advance(timedelta(seconds=31))
    assert close_due(town.app.job_context()) == 1


def test_the_last_argument_takes_the_rest_of_the_line() -> None:
    assert _bind(Arg("skills", CSV, rest=True), "kafka, Machine Learning, python") == [
        "kafka", "machine-learning", "python"]
    assert _bind(Arg("skill", TEXT, rest=True), "machine learning") == "machine learning"
    assert _bind(Arg("skill", TEXT, rest=True), '"machine learning"') == "machine learning"


def test_skills_with_spaces_need_no_quotes(chat: Chat) -> None:
    assert "Your skills: kafka, machine-learning, python." in chat.ok(
        "profile skills kafka, Machine Learning, python", user="bob")
    found = chat.ok("whoknows machine learning", user="carol")
    assert "Who knows machine-learning" in found and "bob" in found
    assert "Your site: Lyon Part-Dieu." in chat.ok("profile site Lyon Part-Dieu", user="bob")


@pytest.mark.parametrize(("typed", "guess"), [
    ("community lst", "Did you mean 'community list'?"),
    ("crisis lsit", "Did you mean 'crisis list'?"),
    ("consult resluts V1", "Did you mean 'consult results'?"),
    ("communauté lsite", "Did you mean 'communauté liste'?"),
])
def test_a_mistyped_subcommand_gets_a_guess_and_the_group(chat: Chat, typed: str, guess: str) -> None:
    text = chat.error(typed, user="bob")
    assert guess in text and "needs a subcommand" not in text
    first, second = typed.split()[:2]
    assert f"'{first} {second}' is not a command." in text
    listed = [line.strip() for line in text.splitlines()[2:]]
    assert len(listed) > 3 and len({line.split()[0] for line in listed}) == 1, listed  # the group's commands


def test_a_group_word_alone_lists_its_commands(chat: Chat) -> None:
    text = chat.error("crisis", user="bob")
    assert "'crisis' needs a subcommand" in text and "crisis list" in text and "crisis cancel <C-code>" in text


def test_slugs_are_case_insensitive(chat: Chat) -> None:
    chat.ok('community create LYON-Site "Lyon site"', user="alice")
    assert "Lyon site (lyon-site)" in chat.ok("community info LYON-SITE", user="bob")
    chat.ok("community join Lyon-Site", user="bob")
    assert "Members of Lyon site: 2" in chat.ok("community members lyon-site", user="bob")


def test_the_usage_line_only_when_the_usage_was_wrong(town: Chat) -> None:
    town.ok('consult open garden "Q?" "a" "b"', user="alice")
    town.ok("consult close V1", user="alice")
    closed = town.error("consult close V1", user="alice")
    assert closed.strip() == "V1 is already closed."  # the usage was right: no usage line
    assert "Usage: consult close <V-code>" in town.error("consult close", user="alice")
    assert "Usage: consult close <V-code>" in town.error("consult close P1", user="alice")


def test_names_sort_the_way_people_read_them() -> None:
    names = ["user10", "user2", "User1", "user100", "alice"]
    assert sorted(names, key=natural_key) == ["alice", "User1", "user2", "user10", "user100"]


def test_pages_say_how_many_more_and_refuse_past_the_end() -> None:
    page = paginate(list(range(303)), None)
    assert len(page.items) == 20 and page.remaining == 283
    assert page.more(lambda n: f"community members ops --page {n}") == \
        "and 283 more: community members ops --page 2"
    last = paginate(list(range(303)), 16)
    assert last.items == list(range(300, 303)) and last.more(lambda n: "x") == ""
    with pytest.raises(UserError, match="only 16 pages"):
        paginate(list(range(303)), 17)


def test_help_on_a_word_shows_every_command_it_starts(chat: Chat) -> None:
    text = chat.ok("help idea", user="bob")
    for usage in ('idea <slug> "<text>"', "idea upvote <I-code>", "idea list <slug>", "idea show <I-code>"):
        assert usage in text
    topic = chat.ok("help whoknows", user="bob")
    assert "share remove <slug> <url>" in topic and "resources <slug>" in topic
    assert chat.ok("help community join", user="bob").count("community ") == 1
