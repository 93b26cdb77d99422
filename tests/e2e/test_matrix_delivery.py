"""Invitations, reactions as buttons, the outbox to rooms and people, pins, account linking."""

from __future__ import annotations

import asyncio
import time

import pytest
from nio import RoomGetStateEventResponse
from sqlmodel import select

from bot.app import default_platforms
from bot.identity import ensure_channel, find_account
from bot.messages import Actions, Button, Context, Message, Section
from bot.outbox import DeliveryError, Outgoing
from storage.db import session_scope
from storage.tables import Membership, OutboxMessage
from tests.support.chat import Chat
from tests.support.matrix import MatrixUser, MatrixWorld

pytestmark = pytest.mark.synapse


async def membership_of(user: MatrixUser, room: str, member: str) -> dict[str, object]:
    response = await user.client.room_get_state_event(room, "m.room.member", member)
    assert isinstance(response, RoomGetStateEventResponse), response
    return dict(response.content)


async def wait_membership(user: MatrixUser, room: str, member: str, wanted: str) -> dict[str, object]:
    deadline = time.monotonic() + 15
    while True:
        content = await membership_of(user, room, member)
        if content.get("membership") == wanted:
            return content
        assert time.monotonic() < deadline, f"{member} is {content.get('membership')}, not {wanted}"
        await asyncio.sleep(0.1)


async def test_invitations_from_servers_not_allowed_are_declined_unless_from_an_admin(matrix: MatrixWorld) -> None:
    admin = await matrix.user("admin")
    alice = await matrix.user("alice")
    await matrix.start_bot(allowed_servers=("elsewhere.example",),
                           admins=(default_platforms().parse_account(f"matrix:{admin.user_id}"),))

    declined = await alice.create_room([matrix.bot_id], name="not allowed")
    left = await wait_membership(alice, declined, matrix.bot_id, "leave")
    assert "only when invited by an administrator" in str(left.get("reason"))

    accepted = await admin.create_room([matrix.bot_id], name="allowed")
    await wait_membership(admin, accepted, matrix.bot_id, "join")
    mark = admin.mark()
    await admin.send(accepted, "!cercle role list")
    await admin.expect(sender=matrix.bot_id, contains="CERCLE_ADMINS", after=mark)


async def test_invitations_from_the_bots_own_server_are_accepted_by_default(matrix: MatrixWorld) -> None:
    await matrix.start_bot()
    alice = await matrix.user("alice")
    room = await alice.create_room([matrix.bot_id], name="default")
    await wait_membership(alice, room, matrix.bot_id, "join")


def _enqueue_to_room(matrix: MatrixWorld, room: str, message: Message) -> None:
    with session_scope(matrix.engine) as session:
        channel = ensure_channel(session, "matrix", "localhost", room)
        assert matrix.app is not None
        matrix.app.outbox.send_to_channel(session, matrix.app.settings, channel, lambda: message, subject="test")


async def test_a_reaction_runs_the_buttons_command_as_the_person_who_reacts(matrix: MatrixWorld) -> None:
    await matrix.start_bot()
    alice = await matrix.user("alice")
    bob = await matrix.user("bob")
    room = await matrix.room_with_bot(alice, bob)
    await alice.send(room, '!cercle community create plongee "Plongée"')
    await alice.expect(sender=matrix.bot_id, contains="created")

    _enqueue_to_room(matrix, room, Message(summary="Join us", blocks=(
        Section(title="Plongée <3", text="Dive with us"),
        Context("codes: C1"),
        Actions((Button("Join", "community join plongee", reaction="✅"),
                 Button("Members", "community members plongee")))),
        pin=True))
    posted = await bob.expect(room, sender=matrix.bot_id, contains="Dive with us")
    assert "React with ✅ to: Join" in posted.body
    assert "Type `!cercle community members plongee` to: Members" in posted.body
    assert "<b>Plongée &lt;3</b>" in posted.html
    assert 'data-mx-color="#808080"' in posted.html
    deadline = time.monotonic() + 5
    while True:  # the worker records the event id right after the homeserver answered
        with session_scope(matrix.engine) as session:
            row = session.exec(select(OutboxMessage).where(OutboxMessage.subject == "test")).one()
        if row.status == "sent" or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)
    assert row.status == "sent" and row.platform_message_id == posted.event_id
    pinned = await bob.client.room_get_state_event(room, "m.room.pinned_events")
    assert isinstance(pinned, RoomGetStateEventResponse)
    assert posted.event_id in pinned.content["pinned"]

    mark = bob.mark()
    await bob.react(room, posted.event_id, "👍")  # no button for this one: nothing happens
    await bob.react(room, posted.event_id, "✅\ufe0f")  # clients add the variation selector
    welcome = await bob.expect(sender=matrix.bot_id, contains="Welcome to Plongée", after=mark)
    assert welcome.room_id != room  # a private answer
    await asyncio.sleep(0.5)
    assert len([m for m in bob.seen[mark:] if m.sender == matrix.bot_id and m.type == "m.room.message"
                and "Plongée" in m.body and m.room_id == welcome.room_id]) == 1
    with session_scope(matrix.engine) as session:
        account = find_account(session, "matrix", "localhost", bob.user_id)
        assert account is not None
        assert session.exec(select(Membership).where(Membership.person_id == account.person_id)).first()


async def test_outbox_to_a_room_and_to_a_person_is_delivered_once(matrix: MatrixWorld) -> None:
    bot = await matrix.start_bot()
    assert bot.adapter is not None
    alice = await matrix.user("alice")
    room = await matrix.room_with_bot(alice)
    await alice.send(room, "!cercle profile skills sailing")  # alice is now known to Cercle
    await alice.expect(sender=matrix.bot_id, contains="sailing")

    # To a person: their direct room, created once and reused.
    with session_scope(matrix.engine) as session:
        account = find_account(session, "matrix", "localhost", alice.user_id)
        assert account is not None and matrix.app is not None
        for text in ("First private note", "Second private note"):
            assert matrix.app.outbox.send_to_person(session, matrix.app.settings, account.person_id,
                                                    lambda t=text: Message.text(t))  # type: ignore[misc]
    first = await alice.expect(sender=matrix.bot_id, contains="First private note")
    second = await alice.expect(sender=matrix.bot_id, contains="Second private note")
    assert first.room_id == second.room_id != room

    # A resend of the same outbox row (a crash after sending, before recording) is one message.
    item = Outgoing(id=987654, platform="matrix", workspace="localhost", target_kind="channel", target_id=room,
                    message=Message.text("Exactly once"), attempts=1, subject="")
    one = await bot.adapter.sender.send(item)
    two = await bot.adapter.sender.send(item)
    assert one == two
    await alice.expect(room, sender=matrix.bot_id, contains="Exactly once")
    await asyncio.sleep(0.5)
    assert len([m for m in alice.messages(room, sender=matrix.bot_id) if m.body == "Exactly once"]) == 1

    # A room the bot is not in is a permanent failure, not an endless retry.
    elsewhere = await alice.create_room([], name="private")
    with pytest.raises(DeliveryError) as refused:
        await bot.adapter.sender.send(Outgoing(id=987655, platform="matrix", workspace="localhost",
                                               target_kind="channel", target_id=elsewhere,
                                               message=Message.text("nope"), attempts=1, subject=""))
    assert refused.value.permanent


async def test_linking_a_console_account_with_a_matrix_account(matrix: MatrixWorld) -> None:
    app = matrix.build()
    chat = Chat(app)
    chat.ok("profile skills facilitation", user="nadia")
    code_reply = chat.ok("profile link", user="nadia")
    code = code_reply.split("Your link code is ")[1].split(".")[0]

    await matrix.start_bot()
    nadia = await matrix.user("nadia")
    room = await matrix.direct_room(nadia)
    await nadia.send(room, f"profile link {code}")
    await nadia.expect(room, sender=matrix.bot_id, contains="This will join your account with nadia on the console")
    mark = nadia.mark()
    await nadia.send(room, "profile link confirm")
    await nadia.expect(room, sender=matrix.bot_id, contains="must now confirm too", after=mark)
    assert "Done: your accounts are now one person" in chat.ok("profile link confirm", user="nadia")
    mark = nadia.mark()
    await nadia.send(room, "profile show")
    shown = await nadia.expect(room, sender=matrix.bot_id, contains="facilitation", after=mark)
    assert "console:nadia" in shown.body and f"matrix:{nadia.user_id}" in shown.body
    mark = nadia.mark()
    await nadia.send(room, f"profile link {code}")
    await nadia.expect(room, sender=matrix.bot_id, contains="already been used", after=mark)


async def test_leaving_the_direct_room_makes_the_bot_open_a_new_one(matrix: MatrixWorld) -> None:
    await matrix.start_bot()
    fred = await matrix.user("fred")
    group = await matrix.room_with_bot(fred)
    await fred.send(group, "!cercle profile skills first")
    first = await fred.expect(sender=matrix.bot_id, contains="Your skills: first")
    assert first.room_id != group
    await fred.client.room_leave(first.room_id)
    await wait_membership(fred, group, fred.user_id, "join")
    deadline = time.monotonic() + 10
    while matrix.bots[-1].adapter and matrix.bots[-1].adapter.rooms.room_of(fred.user_id) == first.room_id:
        assert time.monotonic() < deadline, "the bot never noticed that fred left"
        await asyncio.sleep(0.1)
    mark = fred.mark()
    await fred.send(group, "!cercle profile skills second")
    second = await fred.expect(sender=matrix.bot_id, contains="Your skills: second", after=mark)
    assert second.room_id not in (first.room_id, group)


async def test_room_aliases_are_resolved_to_room_ids(matrix: MatrixWorld) -> None:
    bot = await matrix.start_bot()
    assert bot.adapter is not None
    alice = await matrix.user("alice")
    localpart = f"ops{int(time.time() * 1000)}"
    room = await alice.create_room([], name="Ops", alias=localpart)
    alias = f"#{localpart}:localhost"
    inbound = bot.adapter.inbound
    text, channels, unknown = await inbound.resolve_aliases(f'crisis declare "Outage" --audience {alias},#x')
    assert unknown is None
    assert text == f'crisis declare "Outage" --audience {room},#x'
    assert channels == {room: alias}


async def test_a_direct_room_someone_else_joins_is_no_longer_used_for_private_answers(matrix: MatrixWorld) -> None:
    await matrix.start_bot()
    fred = await matrix.user("fred")
    george = await matrix.user("george")
    group = await matrix.room_with_bot(fred)
    await fred.send(group, "!cercle profile skills before")
    first = await fred.expect(sender=matrix.bot_id, contains="Your skills: before")
    await fred.invite(first.room_id, george.user_id)
    await wait_membership(fred, first.room_id, george.user_id, "join")
    await asyncio.sleep(0.5)  # the bot's sync sees the new member
    mark, seen_by_george = fred.mark(), george.mark()
    await fred.send(group, "!cercle profile skills after")
    second = await fred.expect(sender=matrix.bot_id, contains="Your skills: after", after=mark)
    assert second.room_id not in (first.room_id, group)
    await asyncio.sleep(0.5)
    assert not [m for m in george.seen[seen_by_george:] if "after" in m.body and m.sender == matrix.bot_id]
