"""The communities scenario on a real Synapse: two people and the bot in rooms, commands as `!cercle …`."""

from __future__ import annotations

import pytest
from nio import Api, RoomSendResponse

from tests.support.matrix import MatrixWorld

pytestmark = pytest.mark.synapse


async def test_communities_scenario_in_matrix_rooms(matrix: MatrixWorld) -> None:
    await matrix.start_bot()
    alice = await matrix.user("alice")
    bob = await matrix.user("bob")
    await bob.client.set_displayname("Bob Martin")
    general = await matrix.room_with_bot(alice, bob, name="general")
    data_room = await matrix.room_with_bot(alice, name="data")

    # An answer for the caller is given in place: a reply to the command, in the room that read it.
    mark = alice.mark()
    command = await alice.send(general, '!cercle community create data "Data Science" --purpose "Share data tips" '
                                        '--topics ml,python')
    created = await alice.expect(contains="Community Data Science (data) created", after=mark)
    assert created.room_id == general and created.sender == matrix.bot_id
    assert created.content["m.relates_to"]["m.in_reply_to"]["event_id"] == command
    assert created.content["msgtype"] == "m.notice"
    assert "<br>" in created.html or "<" in created.html
    assert not [m for m in alice.messages(general, sender=matrix.bot_id, after=mark) if "private" in m.body]

    # A public answer is a reply to the command, in the room.
    mark = alice.mark()
    command = await alice.send(data_room, "!cercle community link data")
    linked = await alice.expect(data_room, sender=matrix.bot_id, contains="now linked", after=mark)
    assert linked.content["m.relates_to"]["m.in_reply_to"]["event_id"] == command

    # A command in a thread is answered in that thread.
    root = await alice.send(general, "Planning the data meetup")
    mark = alice.mark()
    in_thread = await alice.send(general, "!cercle community link data", thread=root)
    threaded = await alice.expect(general, sender=matrix.bot_id, contains="now linked", after=mark)
    relation = threaded.content["m.relates_to"]
    assert relation["rel_type"] == "m.thread" and relation["event_id"] == root
    assert relation["m.in_reply_to"]["event_id"] == in_thread

    # Mentioning the bot first works like the prefix; the pill becomes the bot's id for the core.
    mark = bob.mark()
    html = f'<a href="https://matrix.to/#/{matrix.bot_id}">Cercle</a>: community join data'
    await bob.send(general, "Cercle: community join data", html=html)
    welcome = await bob.expect(contains="Welcome to Data Science", after=mark)
    assert welcome.room_id == general

    mark = bob.mark()
    await bob.send(general, "!cercle profile skills Python, SQL")
    skills = await bob.expect(contains="Your skills: python, sql", after=mark)
    assert skills.room_id != general  # someone's own data is confidential: their direct room

    mark = alice.mark()
    await alice.send(general, "!cercle whoknows python")
    experts = await alice.expect(contains="Who knows python", after=mark)
    assert "Bob Martin" in experts.body

    # A pill to a person reaches the core as their id; their name comes from the room.
    mark = alice.mark()
    pill = f'<a href="https://matrix.to/#/{bob.user_id}">Bob Martin</a>'
    await alice.send(general, "!cercle community promote data Bob Martin",
                     html=f"!cercle community promote data {pill}")
    await alice.expect(contains="Bob Martin is now a manager of Data Science", after=mark)

    # Sharing posts a notice in the linked room, through the outbox.
    mark = alice.mark()
    await bob.send(general, '!cercle share data https://example.org/guide "Guide <b>pandas</b>" --tags howto')
    notice = await alice.expect(data_room, sender=matrix.bot_id, contains="shared a resource", after=mark)
    assert "https://example.org/guide" in notice.body
    assert "&lt;b&gt;pandas&lt;/b&gt;" in notice.html  # user text is escaped, never markup
    assert "<b>pandas</b>" not in notice.html

    mark = bob.mark()
    await bob.send(general, "!cercle resources data")
    listed = await bob.expect(contains="Resources of Data Science", after=mark)
    assert "Guide <b>pandas</b> — https://example.org/guide [howto]" in listed.body
    assert "<ul><li>" in listed.html


async def test_errors_are_answered_in_place_and_in_french(matrix: MatrixWorld) -> None:
    await matrix.start_bot()
    alice = await matrix.user("alice")
    bob = await matrix.user("bob")
    general = await matrix.room_with_bot(alice, bob)

    mark = bob.mark()
    command = await bob.send(general, "!cercle community join nosuch")
    error = await bob.expect(contains="There is no community 'nosuch'", after=mark)
    assert error.room_id == general and error.content["m.relates_to"]["m.in_reply_to"]["event_id"] == command
    await bob.send(general, "!cercle comunity list")
    typo = await bob.expect(contains="Unknown command 'comunity'", after=mark)
    assert typo.room_id == general
    assert "Type help to see every command." in typo.body
    # A confidential command typed in a shared room is refused, in the direct room, nothing in the room.
    await bob.send(general, "!cercle nomination show N9")
    secret = await bob.expect(sender=matrix.bot_id, contains="this command is confidential", after=mark)
    assert secret.room_id != general and "N9" not in secret.body
    assert not [m for m in alice.messages(general, sender=matrix.bot_id, after=mark) if "confidential" in m.body]

    # An unknown room alias is refused by the adapter, and nothing is created.
    mark = bob.mark()
    await bob.send(general, "!cercle community info #nowhere:localhost")
    refused = await bob.expect(contains="There is no room #nowhere:localhost", after=mark)
    assert refused.room_id == general

    # French from then on, including the adapter's own words (button hints).
    mark = bob.mark()
    await bob.send(general, "!cercle language fr")
    await bob.expect(general, sender=matrix.bot_id, contains="Désormais, Cercle vous parle en français",
                     after=mark)
    mark = bob.mark()
    await bob.send(general, "!cercle communauté rejoindre nulle-part")
    await bob.expect(general, sender=matrix.bot_id,
                     contains="Il n'y a pas de communauté «\u202fnulle-part\u202f»", after=mark)
    await alice.send(general, '!cercle community create jardin "Jardin partagé"')
    await alice.expect(general, sender=matrix.bot_id, contains="jardin")
    mark = bob.mark()
    await bob.send(general, "!cercle community info jardin")
    info = await bob.expect(sender=matrix.bot_id, contains="Rejoindre", after=mark)
    assert "Tapez `!cercle communauté rejoindre jardin` pour\u202f: Rejoindre" in info.body
    assert "<code>!cercle communauté rejoindre jardin</code>" in info.html
    mark = bob.mark()
    await bob.send(general, "!cercle community info #nulpart:localhost")
    await bob.expect(contains="Il n'y a pas de salon #nulpart:localhost", after=mark)


async def test_commands_in_a_direct_room_need_no_prefix(matrix: MatrixWorld) -> None:
    await matrix.start_bot()
    carol = await matrix.user("carol")
    direct = await matrix.direct_room(carol)
    mark = carol.mark()
    await carol.send(direct, "profile skills rust")
    answer = await carol.expect(direct, sender=matrix.bot_id, contains="Your skills: rust", after=mark)
    assert answer.content["msgtype"] == "m.notice"
    # Chatter in a group room without the prefix is not a command.
    dave = await matrix.user("dave")
    group = await matrix.room_with_bot(carol, dave)
    mark = carol.mark()
    await dave.send(group, "Cercle is a nice name")
    await dave.send(group, "!cercle help")
    await carol.expect(sender=matrix.bot_id, after=mark, where=lambda s: "help" in s.body.lower()
                       or "Commands" in s.body or "private message" in s.body)
    assert not [m for m in carol.messages(group, sender=matrix.bot_id, after=mark) if "Unknown" in m.body]


async def test_an_encrypted_direct_chat_is_read_and_answered_in_place(matrix: MatrixWorld) -> None:
    """Element encrypts direct chats: the bot answers in the same room, encrypted, and says nothing about a
    message it cannot decrypt (no detour to another room)."""
    await matrix.start_bot()
    erin = await matrix.user("erin")
    room = await erin.create_room([matrix.bot_id], direct=True, encrypted=True)
    await matrix.joined(erin, room)
    garbage = {"algorithm": "m.megolm.v1.aes-sha2", "ciphertext": "AwgAEn...", "sender_key": "k",
               "session_id": "s", "device_id": erin.account.device_id}
    method, path, data = Api.room_send(erin.client.access_token, room, "m.room.encrypted", garbage, "garbage")
    # As is: a message nobody can decrypt.
    await erin.client._send(RoomSendResponse, method, path, data, response_data=(room,))
    await erin.send(room, "profile skills privacy")
    answer = await erin.expect(room, sender=matrix.bot_id, contains="Your skills: privacy")
    assert answer.source.get("type") == "m.room.message"
    assert not [e for e in erin.undecryptable if e.sender == matrix.bot_id]
    raw = await erin.raw_event(room, answer.event_id)
    assert raw["type"] == "m.room.encrypted" and "body" not in raw["content"]  # the homeserver holds ciphertext
    assert [m.room_id for m in erin.messages(room, sender=matrix.bot_id)] == [room]
    assert len(erin.invites) == 0  # no other room opened
