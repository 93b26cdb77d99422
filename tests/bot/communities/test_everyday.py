"""A community manager's everyday: correcting (unarchive, share remove), a language per community, long member
lists, and the managers told when someone else archives their community."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import select

from storage.db import session_scope
from storage.tables import AuditEntry, Channel, Community, Resource
from tests.support.chat import Chat, bullets
from tests.support.snapshot import snapshot


def test_leaving_an_archived_community_needs_no_hand_over(town: Chat) -> None:
    town.ok('community create solo "Solo"', user="zoe")
    town.ok("community archive solo", user="zoe")
    assert "You have left Solo." in town.ok("community leave solo", user="zoe")  # was: "archive it instead"
    town.ok('community create pair "Pair"', user="zoe")
    town.ok("community join pair", user="yan")
    assert "promote someone first" in town.error("community leave pair", user="zoe")  # active: hand over first


def test_archive_tells_the_managers_when_someone_else_did_it(town: Chat) -> None:
    town.ok("community promote garden @bob", user="alice")
    town.deliver()
    town.ok("community archive garden", user="admin")
    sent = town.deliver()
    told = {s.target_id: s.text for s in sent if s.target_kind == "dm"}
    assert set(told) == {"alice", "bob"}  # both managers; the admin is not told what they did
    assert "admin archived the community Garden, which you manage" in told["alice"]
    assert "community unarchive garden" in told["bob"]
    assert [s.target_id for s in sent if s.target_kind == "channel"] == ["garden-room"]


def test_unarchive_brings_a_community_back(town: Chat, engine: Engine) -> None:
    town.ok("community archive garden", user="alice")
    town.deliver()
    before = snapshot(engine)
    assert "Only the managers" in town.error("community unarchive garden", user="bob")
    assert "is archived" in town.error('idea garden "Later"', user="bob")
    assert snapshot(engine) == before
    info = town.say("community info garden", user="alice").message
    assert [b.command for b in info.buttons()] == ["community unarchive garden"]
    assert "Garden is active again." in town.ok("community unarchive garden", user="alice")
    assert "is not archived" in town.error("community unarchive garden", user="alice")
    [post] = town.deliver()
    assert post.target_id == "garden-room" and "The community Garden is active again, thanks to alice." in post.text
    town.ok('idea garden "Back in business"', user="bob")
    assert "garden" in town.ok("community list", user="dave")
    with session_scope(engine) as session:
        assert session.exec(select(AuditEntry).where(AuditEntry.action == "community.unarchive")).one()


def test_the_same_address_is_shared_once(town: Chat, engine: Engine) -> None:
    town.ok('share garden https://example.org/soil "Soil basics"', user="bob")
    assert len(town.deliver()) == 1
    before = snapshot(engine)
    for url in ("https://example.org/soil", "https://example.org/soil/"):
        assert "already shared in Garden" in town.error(f'share garden {url} "Soil, again"', user="carol")
    assert snapshot(engine) == before and town.deliver() == []


def test_share_remove_by_the_sharer_or_a_manager_only(town: Chat, engine: Engine) -> None:
    town.ok('share garden https://example.org/soil "Soil basics" --tags soil', user="bob")
    town.ok('share garden https://example.org/seeds "Seeds"', user="carol")
    town.deliver()
    before = snapshot(engine)
    assert "Only the person who shared it, or a manager" in town.error(
        "share remove garden https://example.org/soil", user="carol")
    assert "No resource at https://example.org/nope" in town.error(
        "share remove garden https://example.org/nope", user="bob")
    assert snapshot(engine) == before
    assert "Removed from the resources of Garden: Soil basics." in town.ok(
        "share remove garden https://example.org/soil/", user="bob")
    assert "Removed from the resources of Garden: Seeds." in town.ok(
        "share remove garden https://example.org/seeds", user="alice")  # a manager
    assert "No resource shared in Garden yet." in town.ok("resources garden", user="dave")
    assert town.deliver() == []  # what was posted stays; nothing new is posted
    with session_scope(engine) as session:
        assert session.exec(select(Resource)).all() == []
        assert len(session.exec(select(AuditEntry).where(AuditEntry.action == "resource.remove")).all()) == 2
    town.ok('share garden https://example.org/soil "Soil basics"', user="bob")  # it may be shared again


def test_a_community_speaks_its_language_in_its_channels(town: Chat, engine: Engine) -> None:
    town.ok("language en", user="bob")
    town.ok("language fr", user="carol")
    assert "Only the managers" in town.error("community language garden fr", user="bob")
    assert "Garden now posts in French in its 1 channel" in town.ok("community language garden fr", user="alice")
    town.ok("community link garden", user="alice", channel="jardin-2")
    town.deliver()
    town.ok('share garden https://example.org/soil "Soil basics"', user="bob")
    posts = town.deliver()
    assert sorted(p.target_id for p in posts) == ["garden-room", "jardin-2"]
    assert all(p.message.locale == "fr" and "bob a partagé une ressource avec Garden" in p.text for p in posts)
    # People keep their own language in private.
    town.ok("community promote garden @bob", user="alice")
    town.ok("community promote garden @carol", user="alice")
    dms = {s.target_id: s.message for s in town.deliver()}
    assert dms["bob"].locale == "en" and "made you a manager" in dms["bob"].plain_text()
    assert dms["carol"].locale == "fr"
    assert "Its channels' posts are in French." in town.ok("community info garden", user="bob")
    # A channel unlinked from it goes back to the default language.
    town.ok("community unlink garden", user="alice", channel="jardin-2")
    with session_scope(engine) as session:
        channels = {c.channel_id: c.locale for c in session.exec(select(Channel))}
        assert channels["garden-room"] == "fr" and channels["jardin-2"] is None
        assert session.exec(select(Community)).one().locale == "fr"
    town.ok("community language garden en", user="alice")
    town.ok('share garden https://example.org/seeds "Seeds"', user="bob")
    assert [p.message.locale for p in town.deliver()] == ["en"]


def test_a_crisis_announcement_follows_each_channel_language(town: Chat) -> None:
    town.ok("community language garden fr", user="alice")
    town.ok('community create ops "Ops"', user="alice")
    town.ok("community link ops", user="alice", channel="ops-room")
    town.deliver()
    town.ok('crisis declare "Flood" --audience garden,ops', user="admin")
    town.ok('crisis announce C1 "Stay home."', user="admin")
    posts = {p.target_id: p.message for p in town.deliver()}
    assert posts["garden-room"].locale == "fr" and "Crise C1" in posts["garden-room"].plain_text()
    assert posts["ops-room"].locale == "en" and "Crisis C1" in posts["ops-room"].plain_text()


def test_long_member_lists_page_and_sort_names_naturally(chat: Chat) -> None:
    chat.ok('community create ops "Ops"', user="alice")
    for i in range(1, 46):
        chat.ok("community join ops", user=f"user{i}")
    first = chat.ok("community members ops", user="bob")
    lines = bullets(first)
    assert lines[:4] == ["alice — manager", "user1", "user2", "user3"] and len(lines) == 20
    assert "Members of Ops: 46" in first
    assert "and 26 more: community members ops --page 2" in first
    third = chat.ok("community members ops --page 3", user="bob")
    assert "(page 3 of 3)" in third and "user45" in third and "more:" not in third
    assert "only 3 pages" in chat.error("community members ops --page 4", user="bob")


def test_whoknows_says_how_many_more(chat: Chat) -> None:
    for i in range(1, 13):
        chat.ok("profile skills python", user=f"user{i}")
    text = chat.ok("whoknows python", user="bob")
    names = [line.split(" — ")[0] for line in bullets(text)]
    assert names == [f"user{i}" for i in range(1, 11)]  # ties by name, as read: user2 before user10
    assert "and 2 more: whoknows python --page 2" in text
    assert "user12" in chat.ok("whoknows python --page 2", user="bob")


def test_french_page_hints_are_french(chat: Chat) -> None:
    chat.ok("langue fr", user="bob")
    chat.ok('community create ops "Ops"', user="alice")
    for i in range(1, 25):
        chat.ok("community join ops", user=f"user{i}")
    text = chat.ok("communauté membres ops", user="bob")
    assert "et 5 autres\u202f: communauté membres ops --page 2" in text
