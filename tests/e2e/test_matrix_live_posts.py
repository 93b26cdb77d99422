"""Live posts on Matrix, on the real Synapse: an announcement's acknowledgement count is updated in place by
an `m.replace` edit (encrypted in an encrypted room), sent by the edit worker `cercle run` builds; a reaction
on the edited post still acknowledges; an edit of a removed post is dropped, a native poll is not edited."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import replace

import pytest
from nio import RoomRedactResponse

from adapters.matrix.sender import MatrixSender
from bot.app import default_platforms, edit_worker
from bot.messages import Message, Poll
from bot.outbox import DeliveryError, Outgoing, OutgoingEdit
from bot.outbox.edits import EditWorker
from tests.support.matrix import MatrixBot, MatrixUser, MatrixWorld, Seen

pytestmark = pytest.mark.synapse


async def linked_room(matrix: MatrixWorld, owner: MatrixUser, *others: MatrixUser) -> str:
    """An encrypted room with the bot and `others`, linked to a community everyone joined."""
    room = await owner.create_room([matrix.bot_id, *(o.user_id for o in others)], name="ops", encrypted=True)
    await matrix.joined(owner, room, *others)
    await owner.send(room, '!cercle community create ops "Ops"')
    await owner.expect(room, sender=matrix.bot_id, contains="created")
    await owner.send(room, "!cercle community link ops")
    await owner.expect(room, sender=matrix.bot_id, contains="now linked")
    for person in others:
        mark = person.mark()
        await person.send(room, "!cercle community join ops")
        await person.expect(room, sender=matrix.bot_id, contains="Welcome", after=mark)
    return room


async def sent_edits(edits: EditWorker, wanted: int, timeout: float = 15.0) -> None:
    """Run the edit worker until it sent `wanted` edits (the first change waits its coalescing delay)."""
    deadline = time.monotonic() + timeout
    while edits.updates < wanted:
        assert time.monotonic() < deadline, f"the edit worker sent {edits.updates} edits, not {wanted}"
        await edits.run_once()
        await asyncio.sleep(0.2)


def edit_of(event_id: str, contains: str) -> Callable[[Seen], bool]:
    """An edit of `event_id` whose new content contains `contains`."""
    def matches(seen: Seen) -> bool:
        relation = seen.content.get("m.relates_to") or {}
        new = seen.content.get("m.new_content") or {}
        return (relation.get("rel_type") == "m.replace" and relation.get("event_id") == event_id
                and contains in str(new.get("body", "")))
    return matches


async def test_an_announcements_acknowledgements_are_edited_into_it(matrix: MatrixWorld) -> None:
    alice = await matrix.user("alice")  # an administrator: communicator
    bob = await matrix.user("bob")
    carol = await matrix.user("carol")
    bot = await matrix.start_bot(admins=(default_platforms().parse_account(f"matrix:{alice.user_id}"),))
    assert bot.adapter is not None and matrix.app is not None
    room = await linked_room(matrix, alice, bob, carol)
    await alice.send(room, f'!cercle crisis declare "Flood" --audience {room}')
    await alice.expect(room, sender=matrix.bot_id, contains="C1")
    mark = alice.mark()
    await alice.send(room, '!cercle crisis announce C1 "The building is closed today."')
    announced = await alice.expect(room, sender=matrix.bot_id, contains="The building is closed today.", after=mark)
    assert "Acknowledged by" not in announced.body  # as first posted: no count yet
    edits = edit_worker(matrix.app, {"matrix": bot.adapter.sender}, limits={})  # as `cercle run` builds it

    await bob.react(room, announced.event_id, "✅")
    await sent_edits(edits, 1)
    edited = await alice.expect(room, sender=matrix.bot_id, after=mark,
                                where=edit_of(announced.event_id, "Acknowledged by 1 of 3"))
    assert edited.body.startswith("* ") and "Acknowledged by 1 of 3" in edited.body  # clients without edits
    assert edited.content["m.mentions"] == {}  # an update rings nobody again
    assert edited.content["m.new_content"]["msgtype"] == announced.content["msgtype"] == "m.text"
    assert "React with ✅ to: Acknowledge" in edited.content["m.new_content"]["body"]
    raw = await alice.raw_event(room, edited.event_id)
    assert raw["type"] == "m.room.encrypted"  # sent like a post: encrypted in an encrypted room

    # The edited post keeps its event id: a reaction on it still runs its button.
    await carol.react(room, announced.event_id, "✅")
    await sent_edits(edits, 2, timeout=20.0)  # the post's next update waits its interval
    await alice.expect(room, sender=matrix.bot_id, after=mark,
                       where=edit_of(announced.event_id, "Acknowledged by 2 of 3"))
    # A second run of the same edit row (a lost answer) is the same transaction: one event, not two.
    await asyncio.sleep(0.5)
    assert len([m for m in alice.messages(room, sender=matrix.bot_id, after=mark)
                if edit_of(announced.event_id, "Acknowledged by")(m)]) == 2


async def test_an_edit_of_a_removed_or_unknown_post_is_dropped_and_a_poll_is_not_edited(
        matrix: MatrixWorld) -> None:
    bot: MatrixBot = await matrix.start_bot()
    assert bot.adapter is not None
    sender = bot.adapter.sender
    assert isinstance(sender, MatrixSender)
    alice = await matrix.user("alice")
    room = await matrix.room_with_bot(alice)
    await alice.send(room, "!cercle community list")  # answered: the bot's client knows the room
    await alice.expect(room, sender=matrix.bot_id)
    posted = await sender.send(Outgoing(id=876543, platform="matrix", workspace="localhost", target_kind="channel",
                                        target_id=room, message=Message.text("Soon removed"), attempts=1,
                                        subject=""))

    def edit(event_id: str, message: Message, version: int = 1) -> OutgoingEdit:
        return OutgoingEdit(876543, "matrix", "localhost", "channel", room, event_id, message, version, 1)

    mark = alice.mark()
    await sender.update(edit(posted, Message.text("Changed")))
    await sender.update(edit(posted, Message.text("Changed")))  # a retry: the same transaction, one edit
    await alice.expect(room, sender=matrix.bot_id, after=mark, where=edit_of(posted, "Changed"))
    await sender.update(edit(posted, replace(Message.text("A poll"), poll=Poll("V9", "Which?")), version=2))
    redacted = await bot.adapter.client.room_redact(room, posted, reason="test")
    assert isinstance(redacted, RoomRedactResponse), redacted
    with pytest.raises(DeliveryError) as removed:
        await sender.update(edit(posted, Message.text("Too late"), version=3))
    assert removed.value.permanent
    with pytest.raises(DeliveryError) as unknown:
        await sender.update(edit("$nosuchevent", Message.text("Never posted")))
    assert unknown.value.permanent
    await asyncio.sleep(0.5)
    edits = [m.content["m.new_content"]["body"] for m in alice.messages(room, sender=matrix.bot_id, after=mark)
             if (m.content.get("m.relates_to") or {}).get("rel_type") == "m.replace"]
    assert edits == ["Changed"], edits  # the retry was no second edit; no poll, redacted or unknown edit
