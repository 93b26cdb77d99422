"""Matrix as its users live it, on the real Synapse: answers in place, notifications that ring (Synapse's
default push rules), native polls, time zones from the profile. The people's clients encrypt as Element
does (`MatrixUser`)."""

from __future__ import annotations

import asyncio

import pytest
from sqlmodel import select

from bot.app import default_platforms
from storage.db import session_scope
from storage.tables import Account
from tests.support.matrix import MatrixUser, MatrixWorld, Seen

pytestmark = pytest.mark.synapse

POLL_START = ("org.matrix.msc3381.poll.start", "m.poll.start")
POLL_END = ("org.matrix.msc3381.poll.end", "m.poll.end")


def replies_to(user: MatrixUser, room: str, bot: str, event_id: str) -> list[Seen]:
    return [m for m in user.messages(room, sender=bot)
            if (m.content.get("m.relates_to") or {}).get("m.in_reply_to", {}).get("event_id") == event_id]


async def community_room(matrix: MatrixWorld, owner: MatrixUser, *others: MatrixUser, slug: str = "cuisine",
                         encrypted: bool = False) -> str:
    """A room with the bot and `others`, linked to a new community everyone joined."""
    room = await owner.create_room([matrix.bot_id, *(o.user_id for o in others)], name=slug, encrypted=encrypted)
    await matrix.joined(owner, room, *others)
    await owner.send(room, f'!cercle community create {slug} "{slug.title()}"')
    await owner.expect(room, sender=matrix.bot_id, contains="created")
    await owner.send(room, f"!cercle community link {slug}")
    await owner.expect(room, sender=matrix.bot_id, contains="now linked")
    for person in others:
        mark = person.mark()
        await person.send(room, f"!cercle community join {slug}")
        await person.expect(room, sender=matrix.bot_id, contains="Welcome", after=mark)
    return room


async def test_a_command_in_a_room_is_answered_in_place_and_a_confidential_one_in_the_direct_room(
        matrix: MatrixWorld) -> None:
    await matrix.start_bot()
    alice = await matrix.user("alice")
    bob = await matrix.user("bob")
    room = await alice.create_room([matrix.bot_id, bob.user_id], name="team", encrypted=True)
    await matrix.joined(alice, room, bob)
    mark = bob.mark()

    command = await alice.send(room, '!cercle community create kayak "Kayak"')
    answer = await bob.expect(room, sender=matrix.bot_id, contains="Community Kayak (kayak) created", after=mark)
    assert answer.content["m.relates_to"]["m.in_reply_to"]["event_id"] == command
    assert answer.content["msgtype"] == "m.notice"  # a routine answer does not ring

    in_thread = await alice.send(room, "!cercle community list", thread=command)
    listed = await alice.expect(room, sender=matrix.bot_id, contains="kayak", after=alice.mark() - 1,
                                where=lambda s: s.event_id != answer.event_id)
    relation = listed.content["m.relates_to"]
    assert relation["rel_type"] == "m.thread" and relation["event_id"] == command
    assert relation["m.in_reply_to"]["event_id"] == in_thread

    # Someone's own data is confidential: it goes to the direct room the bot opens (encrypted), and keeps.
    await alice.send(room, "!cercle profile skills sql, python")
    private = await alice.expect(sender=matrix.bot_id, contains="Your skills: python, sql")
    assert private.room_id != room
    raw = await alice.raw_event(private.room_id, private.event_id)
    assert raw["type"] == "m.room.encrypted"
    await alice.send(room, "!cercle profile show")
    again = await alice.expect(sender=matrix.bot_id, contains="Your accounts")
    assert again.room_id == private.room_id
    await asyncio.sleep(0.5)
    seen_by_bob = [m.body for m in bob.messages(room, sender=matrix.bot_id, after=mark)]
    assert not [b for b in seen_by_bob if "sql" in b or "Your accounts" in b or "private message" in b], seen_by_bob


async def test_a_crisis_announcement_and_a_consent_request_ring_a_routine_answer_does_not(
        matrix: MatrixWorld) -> None:
    """On Synapse's default push rules (in rooms the homeserver can read: an encrypted event always
    notifies server-side, the client then applies the same rules to the decrypted event)."""
    alice = await matrix.user("alice")  # an administrator: communicator and HR
    bob = await matrix.user("bob")
    carol = await matrix.user("carol")
    await matrix.start_bot(admins=(default_platforms().parse_account(f"matrix:{alice.user_id}"),))
    room = await community_room(matrix, alice, bob, slug="ops")
    bob_dm = await matrix.direct_room(bob)  # unencrypted, so the homeserver's rules see the message type
    carol_dm = await matrix.direct_room(carol)

    mark = bob.mark()
    routine = await bob.send(room, "!cercle community list")
    quiet = await bob.expect(room, sender=matrix.bot_id, contains="ops", after=mark)
    await bob.send(bob_dm, "profile site Lyon")
    quiet_dm = await bob.expect(bob_dm, sender=matrix.bot_id, contains="Lyon", after=mark)
    assert routine and quiet.content["msgtype"] == quiet_dm.content["msgtype"] == "m.notice"

    await alice.send(room, f'!cercle crisis declare "Flood" --audience {room}')
    await alice.expect(room, sender=matrix.bot_id, contains="C1")
    await alice.send(room, '!cercle crisis announce C1 "The building is closed today."')
    announced = await bob.expect(room, sender=matrix.bot_id, contains="The building is closed today.", after=mark)
    assert announced.content["msgtype"] == "m.text" and announced.content["m.mentions"] == {}
    await alice.send(room, '!cercle crisis announce C1 "Everyone works from home tomorrow." --everyone')
    everyone = await bob.expect(room, sender=matrix.bot_id, contains="works from home", after=mark)
    assert everyone.content["m.mentions"] == {"room": True}

    await alice.send(room, f"!cercle role grant {alice.user_id} hr")  # admins are HR once granted hr
    await alice.expect(sender=matrix.bot_id, contains="hr role")
    await alice.send(room, '!cercle position open "Data engineer" --site Lyon')
    await alice.expect(sender=matrix.bot_id, contains="P1")
    await carol.send(carol_dm, f'nominate P1 {bob.user_id} "Great at SQL, she ran the Lyon migration"')
    await carol.expect(carol_dm, sender=matrix.bot_id, contains="N1")
    consent = await bob.expect(bob_dm, sender=matrix.bot_id, contains="Great at SQL", after=mark)
    assert consent.content["msgtype"] == "m.text" and consent.content["m.mentions"] == {"user_ids": [bob.user_id]}

    ringing: dict[str, dict] = {}
    for _ in range(50):
        ringing = {n["event"]["event_id"]: n for n in await bob.notifications()}
        if {announced.event_id, everyone.event_id, consent.event_id} <= set(ringing):
            break
        await asyncio.sleep(0.2)
    assert {announced.event_id, everyone.event_id, consent.event_id} <= set(ringing), list(ringing)
    assert quiet.event_id not in ringing and quiet_dm.event_id not in ringing
    assert {"set_tweak": "highlight"} in ringing[everyone.event_id]["actions"]  # @room: the bot may (power 50)

    # Acknowledging by ✅ adds nothing to the room (the thanks go to the direct room); it is counted.
    mark = bob.mark()
    await bob.react(room, announced.event_id, "✅")
    await asyncio.sleep(1.5)
    assert not bob.messages(room, sender=matrix.bot_id, after=mark)
    await alice.send(room, "!cercle crisis status C1")
    status = await alice.expect(room, sender=matrix.bot_id, contains="C1", after=alice.mark() - 1,
                                where=lambda s: "1" in s.body and s.content.get("m.relates_to") is not None)
    assert status


async def test_a_consultation_is_a_native_poll_whose_answers_are_votes(matrix: MatrixWorld) -> None:
    await matrix.start_bot()
    alice = await matrix.user("alice")
    bob = await matrix.user("bob")
    carol = await matrix.user("carol")
    room = await community_room(matrix, alice, bob, carol, encrypted=True)
    mark = bob.mark()

    await alice.send(room, '!cercle consult open cuisine "Lunch on Friday?" "Pizza" "Sushi" "Salad"')
    poll = await bob.expect(room, sender=matrix.bot_id, types=POLL_START, after=mark)
    start = poll.content["org.matrix.msc3381.poll.start"]
    assert [(a["id"], a["org.matrix.msc1767.text"]) for a in start["answers"]] == \
        [("1", "1. Pizza"), ("2", "2. Sushi"), ("3", "3. Salad")]
    assert start["kind"] == "org.matrix.msc3381.poll.disclosed" and "Lunch on Friday?" in \
        start["question"]["org.matrix.msc1767.text"]
    assert "Lunch on Friday?" in poll.content["org.matrix.msc1767.text"]  # for clients without polls

    reference = {"rel_type": "m.reference", "event_id": poll.event_id}
    # Bob answers as Element does (unstable type); Carol with the stable type, then changes her mind.
    await bob.send_event(room, "org.matrix.msc3381.poll.response",
                         {"m.relates_to": reference, "org.matrix.msc3381.poll.response": {"answers": ["2"]}})
    await carol.send_event(room, "m.poll.response", {"m.relates_to": reference, "m.selections": ["1"]})
    await asyncio.sleep(1.0)
    await carol.send_event(room, "org.matrix.msc3381.poll.response",
                           {"m.relates_to": reference, "org.matrix.msc3381.poll.response": {"answers": ["3"]}})
    deadline = asyncio.get_running_loop().time() + 15
    while True:
        mark_results = alice.mark()
        await alice.send(room, "!cercle consult results V1")
        results = await alice.expect(room, sender=matrix.bot_id, contains="Results so far of V1", after=mark_results)
        if "2 votes in all" in results.body and "3. Salad — 1 vote" in results.body:
            break
        assert asyncio.get_running_loop().time() < deadline, results.body
        await asyncio.sleep(0.5)
    assert "2. Sushi — 1 vote (50%)" in results.body and "1. Pizza — 0 votes (0%)" in results.body
    # Poll answers are acknowledged by nothing in the room.
    assert not [m for m in bob.messages(room, sender=matrix.bot_id, after=mark) if "Your vote" in m.body]

    await alice.send(room, "!cercle consult close V1")
    ended = await bob.expect(room, sender=matrix.bot_id, types=POLL_END, after=mark)
    assert ended.content["m.relates_to"] == reference
    final = await bob.expect(room, sender=matrix.bot_id, contains="Results of V1", after=mark)
    assert "3. Salad — 1 vote (50%)" in final.body


async def test_an_anonymous_consultation_is_no_poll_and_is_voted_in_private(matrix: MatrixWorld) -> None:
    await matrix.start_bot()
    alice = await matrix.user("alice")
    bob = await matrix.user("bob")
    room = await community_room(matrix, alice, bob)
    mark = bob.mark()
    await alice.send(room, '!cercle consult open cuisine "Secret?" "Yes" "No" --anonymous')
    posted = await bob.expect(room, sender=matrix.bot_id, contains="Secret?", after=mark)
    assert "private conversation" in posted.body and "React with" not in posted.body
    await asyncio.sleep(0.5)
    assert not [s for s in bob.seen[mark:] if s.type in POLL_START]


async def test_times_are_shown_in_the_zone_of_the_matrix_profile_unless_the_person_chose_one(
        matrix: MatrixWorld) -> None:
    await matrix.start_bot()
    dana = await matrix.user("dana")
    await dana.set_profile_field("us.cloke.msc4175.tz", "America/Montreal")
    room = await matrix.direct_room(dana)
    await dana.send(room, "profile show")
    shown = await dana.expect(room, sender=matrix.bot_id, contains="America/Montreal (from the chat profile)")
    assert shown
    with session_scope(matrix.engine) as session:
        account = session.exec(select(Account).where(Account.user_id == dana.user_id)).one()
        assert account.platform_timezone == "America/Montreal"

    mark = dana.mark()
    await dana.send(room, "profile timezone Asia/Tokyo")  # an explicit setting wins over the profile
    tokyo = await dana.expect(room, sender=matrix.bot_id, contains="Your time zone: Asia/Tokyo", after=mark)
    assert "(Tokyo) there now" in tokyo.body
    mark = dana.mark()
    await dana.send(room, "profile show")
    await dana.expect(room, sender=matrix.bot_id, contains="Asia/Tokyo", after=mark,
                      where=lambda s: "from the chat profile" not in s.body)
