"""Crisis announcements as people live them: declare, announce everywhere, acknowledge, ask, answer, close."""

from __future__ import annotations

import re

from sqlmodel import select

from bot.messages import Actions
from bot.outbox import DeliveryError, Outgoing
from storage.db import session_scope
from storage.tables import Crisis, CrisisAck, OutboxMessage, Person
from tests.support.chat import Chat, found
from tests.support.linking import link_accounts


def setup_people(chat: Chat) -> None:
    """ops is a community linked to #ops and #ops-fr; bob and alice are members; dave and olga communicators."""
    chat.ok('community create ops "Operations"', user="alice")
    chat.ok("community link ops", user="alice", channel="ops")
    chat.ok("community link ops", user="alice", channel="ops-fr")
    chat.ok("community join ops", user="bob")
    chat.ok("help", user="eve", channel="random")
    chat.ok("role grant @dave communicator", user="admin")
    chat.ok("role grant @olga communicator", user="admin")
    chat.deliver()


def declare(chat: Chat, audience: str = "ops", user: str = "dave") -> int:
    text = chat.ok(f'crisis declare "Site closure" --audience {audience}', user=user)
    m = re.search(r"Crisis C(\d+)", text)
    assert m, text
    return int(m.group(1))


def test_declare_says_who_will_be_reached_before_anything_is_sent(chat: Chat) -> None:
    setup_people(chat)
    text = chat.ok('crisis declare "Site closure" --audience ops', user="dave")
    assert "will reach 2 people in 2 channels on the console" in text
    assert "Nothing has been sent yet" in text
    assert chat.deliver() == []
    # all: every channel that is not a private conversation, every person with an account
    chat.ok("help", user="bob", direct=True)
    text = chat.ok('crisis declare "Outage" --audience all', user="dave")
    with session_scope(chat.app.engine) as s:
        people = len(s.exec(select(Person)).all())
    assert f"will reach {people} people in 4 channels" in text  # general, ops, ops-fr, random; no DM
    # explicit channels, mixed with a community
    assert "in 2 channels" in chat.ok('crisis declare "X" --audience #random,#ops', user="dave")
    assert "unknown to Cercle" in chat.error('crisis declare "X" --audience #nowhere', user="dave")
    assert "no community 'nope'" in chat.error('crisis declare "X" --audience nope', user="dave")


def test_declare_refuses_an_audience_without_channels(chat: Chat) -> None:
    setup_people(chat)
    chat.ok('community create quiet "Quiet"', user="alice")
    assert "no channel to post in" in chat.error('crisis declare "X" --audience quiet', user="dave")
    with session_scope(chat.app.engine) as s:
        assert s.exec(select(Crisis)).all() == []


def test_announcement_goes_pinned_to_every_channel_with_buttons_and_updates_are_numbered(chat: Chat) -> None:
    setup_people(chat)
    cid = declare(chat)
    chat.ok(f'crisis announce C{cid} "The Lyon site closes on Friday."', user="dave")
    sent = chat.deliver()
    assert sorted(s.target_id for s in sent) == ["ops", "ops-fr"]
    for s in sent:
        assert s.message.pin
        assert "The Lyon site closes on Friday." in s.text
        buttons = [b for block in s.message.blocks if isinstance(block, Actions) for b in block.buttons]
        ack = buttons[0]
        assert ack.command == f"crisis ack C{cid}" and ack.reaction == "✅"
        assert buttons[1].form is not None and buttons[1].form.command == f"crisis ask C{cid} {{question}}"
    chat.ok(f'crisis announce C{cid} "Buses will be provided."', user="dave")
    sent = chat.deliver()
    assert len(sent) == 2 and all("update 1" in s.text for s in sent)


def test_acknowledgements_count_once_per_person_and_status_shows_figures(chat: Chat) -> None:
    setup_people(chat)
    cid = declare(chat)
    assert "no announcement" in chat.error(f"crisis ack C{cid}", user="bob")
    chat.ok(f'crisis announce C{cid} "Read me."', user="dave")
    chat.deliver()
    assert "recorded" in chat.ok(f"crisis ack C{cid}", user="bob")
    assert "already" in chat.ok(f"crisis ack C{cid}", user="bob", channel="ops-fr")
    member_view = chat.ok(f"crisis status C{cid}", user="bob")
    assert "2 delivered" in member_view and "Acknowledged by 1 of 2 (50%)" in member_view
    assert "ops: 1 of 2" in member_view
    assert "Not acknowledged" not in member_view and "alice" not in member_view
    comm_view = chat.ok(f"crisis status C{cid}", user="dave")
    assert "Not acknowledged yet (communicators only)" in comm_view and "alice" in comm_view


def test_two_accounts_of_one_person_acknowledge_once(chat: Chat) -> None:
    setup_people(chat)
    matrix = {"platform": "matrix", "workspace": "example.org", "user": "@bob:example.org"}
    chat.ok("help", channel="!room:example.org", **matrix)
    cid = declare(chat, audience="all")
    before = chat.ok(f"crisis status C{cid}", user="dave")
    total = int(found(r"(\d+) people in", before))
    chat.ok(f'crisis announce C{cid} "Read me."', user="dave")
    chat.ok(f"crisis ack C{cid}", user="bob")
    chat.ok(f"crisis ack C{cid}", channel="!room:example.org", **matrix)
    link_accounts(chat, {"user": "bob", "direct": True}, {"channel": "!dm:example.org", "direct": True, **matrix})
    after = chat.ok(f"crisis status C{cid}", user="dave")
    assert f"Acknowledged by 1 of {total - 1}" in after
    with session_scope(chat.app.engine) as s:
        assert len(s.exec(select(CrisisAck)).all()) == 1


def test_named_question_answered_in_public_and_asker_told_privately(chat: Chat) -> None:
    setup_people(chat)
    cid = declare(chat)
    chat.ok(f'crisis announce C{cid} "Read me."', user="dave")
    chat.deliver()
    assert "There is no crisis C1" in chat.error(f'crisis ask C{cid} "And us?"', user="eve")
    text = chat.ok(f'crisis ask C{cid} "Will we be relocated?"', user="bob")
    qid = int(found(r"Q(\d+)", text))
    assert chat.deliver() == []  # nothing public until answered
    listing = chat.ok(f"crisis questions C{cid}", user="dave")
    assert f"Q{qid} [to answer] (bob): Will we be relocated?" in listing
    chat.ok(f'crisis answer Q{qid} "Yes, to Villeurbanne."', user="dave")
    sent = chat.deliver()
    channel_posts = [s for s in sent if s.target_kind == "channel"]
    assert sorted(s.target_id for s in channel_posts) == ["ops", "ops-fr"]
    assert all("Will we be relocated?" in s.text and "Yes, to Villeurbanne." in s.text for s in channel_posts)
    dms = [s for s in sent if s.target_kind == "dm"]
    assert [d.target_id for d in dms] == ["bob"] and "was answered" in dms[0].text
    assert "already answered" in chat.error(f'crisis answer Q{qid} "Again"', user="dave")
    assert "[answered]" in chat.ok(f"crisis questions C{cid}", user="dave")


def test_close_posts_a_closing_message_and_makes_the_crisis_read_only(chat: Chat) -> None:
    setup_people(chat)
    cid = declare(chat)
    chat.ok(f'crisis announce C{cid} "Read me."', user="dave")
    text = chat.ok(f'crisis ask C{cid} "Q?"', user="bob")
    qid = int(found(r"Q(\d+)", text))
    chat.deliver()
    chat.ok(f"crisis close C{cid}", user="dave")
    sent = chat.deliver()
    assert sorted(s.target_id for s in sent) == ["ops", "ops-fr"] and all("is closed" in s.text for s in sent)
    for command in (f'crisis announce C{cid} "More"', f"crisis ack C{cid}", f'crisis ask C{cid} "Q?"',
                    f"crisis remind C{cid}", f"crisis close C{cid}", f'crisis answer Q{qid} "A"'):
        assert "closed: it is read-only" in chat.error(command, user="dave"), command
    assert "(closed)" in chat.ok(f"crisis status C{cid}", user="bob")
    assert chat.deliver() == []


def test_bad_input_gets_a_specific_reply_and_changes_nothing(chat: Chat) -> None:
    setup_people(chat)
    cid = declare(chat)
    assert "no crisis C99" in chat.error('crisis announce C99 "x"', user="dave")
    assert "not a code like C3" in chat.error('crisis announce X1 "x"', user="dave")
    assert "Missing argument" in chat.error(f"crisis announce C{cid}", user="dave")
    assert "at most 3000" in chat.error(f'crisis announce C{cid} "{"x" * 3001}"', user="dave")
    assert "no question Q42" in chat.error('crisis answer Q42 "x"', user="dave")
    assert "between 10 minutes and 7 days" in chat.error('crisis declare "T" --audience ops --remind-after 2m',
                                                         user="dave")
    assert "not a mention" in chat.error('crisis declare "T" --audience ops --communicators bob', user="dave")
    with session_scope(chat.app.engine) as s:
        assert len(s.exec(select(Crisis)).all()) == 1
        assert s.exec(select(OutboxMessage).where(OutboxMessage.subject.startswith("crisis"))).all() == []


def test_french_aliases_and_replies(chat: Chat) -> None:
    setup_people(chat)
    chat.ok("language fr", user="dave")
    chat.ok("language fr", user="bob")
    text = chat.ok('crise déclarer "Fermeture" --audience ops', user="dave")
    assert "Crise C1 «\u202fFermeture\u202f» déclarée" in text and "atteindront 2 personnes dans 2 canaux" in text
    assert "Annonce de C1 en file d'envoi vers 2 canaux" in chat.ok('crise annoncer C1 "Lisez-moi."', user="dave")
    assert "accusé de réception de C1 est enregistré" in chat.ok("crise lu C1", user="bob")
    assert "Accusé de réception par 1 sur 2 (50\u00a0%)" in chat.ok("crise état C1", user="dave")
    assert "lecture seule" not in chat.ok("crise relancer C1", user="dave")
    assert "Seuls les communicants de C1" in chat.error('crise annoncer C1 "x"', user="bob")


def test_status_shows_the_channels_a_platform_refused(chat: Chat) -> None:
    setup_people(chat)
    cid = declare(chat)
    console = chat.senders["console"]
    original = console.send

    async def refuse_ops_fr(item: Outgoing) -> str:
        if item.target_id == "ops-fr":
            raise DeliveryError("channel_not_found", permanent=True)
        return await original(item)

    console.send = refuse_ops_fr  # type: ignore[method-assign]
    chat.ok(f'crisis announce C{cid} "Read me."', user="dave")
    assert [s.target_id for s in chat.deliver()] == ["ops"]
    text = chat.ok(f"crisis status C{cid}", user="dave")
    assert "Channels: 1 delivered, 0 waiting, 1 failed." in text and "#ops-fr (console): failed" in text
