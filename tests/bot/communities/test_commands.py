"""Every community command: what a user sees, and that a refused command changes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from tests.support.chat import Chat
from tests.support.snapshot import snapshot


@pytest.fixture
def ds(chat: Chat) -> Chat:
    """alice manages data-science, linked to #data; bob is a member."""
    chat.ok('community create data-science "Data Science" --purpose "Share ML practice" --topics python,ml',
            user="alice")
    chat.ok("community link data-science", user="alice", channel="data")
    chat.ok("community join data-science", user="bob")
    chat.deliver()
    return chat


def test_create_makes_the_creator_manager(ds: Chat) -> None:
    info = ds.ok("community info data-science", user="carol")
    assert "Share ML practice" in info and "Managers: alice" in info and "Members: 2" in info
    assert "#data" in info and "ml, python" in info
    assert "[Join] → community join data-science" in info  # carol is not a member: a Join button
    manager_view = ds.say("community info data-science", user="alice").message
    [archive] = manager_view.buttons()
    assert archive.command == "community archive data-science" and archive.style == "danger"
    assert archive.confirm is not None and "read-only" in archive.confirm.text


def test_list_and_filter_by_topic(ds: Chat) -> None:
    ds.ok('community create design "Design" --topics ux', user="carol")
    listing = ds.ok("community list")
    assert "data-science — Data Science (2 members)" in listing and "design — Design (1 member)" in listing
    filtered = ds.ok("community list --topic UX")
    assert "design" in filtered and "data-science" not in filtered
    assert "No community has the topic 'cobol'" in ds.ok("community list --topic cobol")


def test_members_lists_managers_first_with_sites(ds: Chat) -> None:
    ds.ok('profile site "Lyon"', user="bob")
    members = ds.ok("community members data-science")
    assert members.index("alice — manager") < members.index("bob (Lyon)")


def test_join_twice_and_leave(ds: Chat) -> None:
    assert "already a member" in ds.ok("community join data-science", user="bob")
    assert "left Data Science" in ds.ok("community leave data-science", user="bob")
    assert "Members: 1" in ds.ok("community info data-science")


def test_last_manager_cannot_leave_without_promoting(ds: Chat, engine: Engine) -> None:
    before = snapshot(engine)
    assert "promote someone first" in ds.error("community leave data-science", user="alice")
    assert snapshot(engine) == before
    ds.ok("community promote data-science @bob", user="alice")
    sent = ds.deliver()
    assert [(s.target_kind, s.target_id) for s in sent] == [("dm", "bob")]
    assert "made you a manager of the community Data Science" in sent[0].text
    ds.ok("community leave data-science", user="alice")
    assert "Managers: bob" in ds.ok("community info data-science")


def test_sole_member_is_told_to_archive(chat: Chat) -> None:
    chat.ok('community create solo "Solo"', user="alice")
    assert "archive it instead" in chat.error("community leave solo", user="alice")


def test_link_and_unlink_need_a_manager_and_a_channel(ds: Chat, engine: Engine) -> None:
    before = snapshot(engine)
    assert "Only the managers of 'data-science'" in ds.error("community link data-science", user="bob",
                                                              channel="random")
    assert "not in a private conversation" in ds.error("community link data-science", user="alice",
                                                       direct=True)
    assert snapshot(engine) == before
    assert "already linked" in ds.ok("community link data-science", user="alice", channel="data")
    reply = ds.say("community unlink data-science", user="alice", channel="data")
    assert not reply.is_error and reply.visibility == "public"
    assert "not linked" in ds.error("community unlink data-science", user="alice", channel="data")


def test_admin_may_manage_any_community(ds: Chat) -> None:
    assert "now linked" in ds.ok("community link data-science", user="admin", channel="town")


def test_promote_requires_membership(ds: Chat) -> None:
    assert "must join first" in ds.error("community promote data-science @carol", user="alice")
    assert "Only the managers" in ds.error("community promote data-science @bob", user="bob")
    assert "already a manager" in ds.ok("community promote data-science @alice", user="alice")


def test_archive_posts_to_linked_channels_and_freezes(ds: Chat, engine: Engine) -> None:
    assert "Only the managers" in ds.error("community archive data-science", user="bob")
    ds.ok("community archive data-science", user="alice")
    sent = ds.deliver()
    assert [(s.target_kind, s.target_id) for s in sent] == [("channel", "data")]
    assert "has been archived by alice" in sent[0].text
    assert "data-science" not in ds.ok("community list")
    assert "Archived on" in ds.ok("community info data-science")
    before = snapshot(engine)
    for command in ("community join data-science", "community link data-science",
                    'share data-science https://x.org "X"', "community promote data-science @bob"):
        assert "archived" in ds.error(command, user="alice")
    assert snapshot(engine) == before


def test_share_and_resources_with_tags(ds: Chat) -> None:
    ds.ok('share data-science https://example.org/guide "ML guide" --tags ml, intro', user="bob")
    ds.ok('share data-science https://example.org/sql "SQL tips" --tags sql', user="alice")
    sent = ds.deliver()
    assert [s.target_id for s in sent] == ["data", "data"]
    assert "bob shared a resource with Data Science" in sent[0].text and "https://example.org/guide" in sent[0].text
    listing = ds.ok("resources data-science")
    assert listing.index("SQL tips") < listing.index("ML guide")  # newest first
    tagged = ds.ok("resources data-science --tag ML")
    assert "ML guide" in tagged and "SQL tips" not in tagged
    assert "No resource tagged 'cobol'" in ds.ok("resources data-science --tag cobol")


def test_share_refusals_change_nothing(ds: Chat, engine: Engine) -> None:
    before = snapshot(engine)
    assert "Join 'data-science' first" in ds.error('share data-science https://x.org "X"', user="carol")
    assert "not a web address" in ds.error('share data-science ftp://x.org "X"', user="bob")
    assert "not a web address" in ds.error('share data-science javascript:alert(1) "X"', user="bob")
    assert "Missing argument" in ds.error("share data-science https://x.org", user="bob")
    assert "There is no community 'nope'" in ds.error('share nope https://x.org "X"', user="bob")
    assert snapshot(engine) == before
    assert ds.pending() == []


def test_whoknows_ranks_exact_then_active(ds: Chat) -> None:
    ds.ok("profile skills python", user="carol")  # exact, not active anywhere
    ds.ok("profile skills python", user="bob")  # exact, member (joined: 1 contribution)
    ds.ok('share data-science https://x.org "X"', user="bob")  # bob: 2 contributions
    ds.ok("profile skills python-testing", user="dave")  # partial match
    lines = [line for line in ds.ok("whoknows Python").splitlines() if line.strip().startswith("•")]
    assert [line.split("•")[1].split("—")[0].strip() for line in lines] == ["bob", "carol", "dave"]
    assert "in data-science" in lines[0] and "2 contributions" in lines[0]
    assert "Nobody has listed the skill 'cobol'" in ds.ok("whoknows cobol")


def test_whoknows_treats_wildcards_literally(ds: Chat) -> None:
    ds.ok("profile skills python", user="bob")
    assert "Nobody" in ds.ok("whoknows %")
    assert "Nobody" in ds.ok("whoknows _")


@pytest.mark.parametrize("command", [
    'community create "Data!" "x"', "community create ds", 'community create data-science "Again"',
    'community create ab "N" --topics', "community info", "community info nope", "community join nope",
    "community leave nope", "community members nope", "community link nope", "community unlink nope",
    "community promote data-science", "community promote data-science bob", "community archive nope",
    "community frobnicate data-science", "whoknows", "resources", "resources nope", "share", "community",
    'community create x-y "A" --purpose', "community join data-science extra",
])
def test_every_malformed_or_unknown_is_refused_and_changes_nothing(ds: Chat, engine: Engine, command: str) -> None:
    before = snapshot(engine)
    reply = ds.say(command, user="bob")
    assert reply.is_error and reply.visibility == "private"
    text = reply.message.plain_text()
    assert text.strip() and "Traceback" not in text
    assert snapshot(engine) == before


def test_usage_line_accompanies_malformed_commands(ds: Chat) -> None:
    text = ds.error("community create ds", user="bob")
    assert 'Usage: community create <slug> "<name>" [--purpose "<text>"] [--topics a,b]' in text


@pytest.mark.parametrize(("command", "user", "reason"), [
    ("community join nope", "bob", "There is no community 'nope'"),
    ("community archive data-science", "bob", "Only the managers"),
    ("role grant @bob hr", "bob", "Only people with the admin role"),
    ("community join data-science", "bob", "already a member"),
])
def test_a_refusal_of_a_well_formed_command_says_why_without_the_usage_line(ds: Chat, command: str, user: str,
                                                                            reason: str) -> None:
    """The usage line is for a command typed wrong; here the usage was right, so it would only be noise."""
    reply = ds.say(command, user=user)
    assert reason in reply.message.plain_text() and "Usage:" not in reply.message.plain_text()


@pytest.mark.parametrize(("command", "usage"), [
    ("community join", "Usage: community join <slug>"),
    ("community join Data_Science", "Usage: community join <slug>"),
    ("role grant bob hr", "Usage: role grant @user"),
    ("community promote data-science", "Usage: community promote <slug> @user"),
])
def test_a_command_typed_wrong_gets_the_usage_line(ds: Chat, command: str, usage: str) -> None:
    _reason, *rest = ds.error(command, user="alice").splitlines()
    assert any(usage in line for line in rest), rest
