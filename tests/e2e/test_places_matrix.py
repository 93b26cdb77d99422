"""Where a confidential command may be typed on Matrix (issue 12), on a real Synapse: role × command × place.

In a room with other people every confidential command is refused (the refusal goes to the person's direct
room, which the bot opens or reuses, and says to type it there); nothing changes, and the room reads nothing
from the bot about it. A reaction in the room votes nothing in an anonymous consultation, whose post offers
no reaction and no poll but the `vote` command in the direct room. In the direct room, the commands run.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from sqlmodel import col, select

from bot.app import default_platforms
from storage.db import session_scope
from storage.tables import ConsultationOption, CrisisQuestion, Nomination, OutboxMessage
from tests.e2e.test_places import CASES, WHY, user_rows
from tests.support.matrix import MatrixUser, MatrixWorld

pytestmark = pytest.mark.synapse
POLL_START = ("org.matrix.msc3381.poll.start", "m.poll.start")
REFUSED = ("this command is confidential", "your vote was not counted", "would not be anonymous")


async def delivered(matrix: MatrixWorld) -> None:
    """Wait until the outbox has sent everything it holds."""
    for _ in range(100):
        with session_scope(matrix.engine) as session:
            if not session.exec(select(OutboxMessage).where(OutboxMessage.status == "pending")).all():
                return
        await asyncio.sleep(0.1)
    raise AssertionError("the outbox never emptied")


async def say(user: MatrixUser, room: str, text: str, bot: str, contains: str) -> str:
    """`text` sent in `room`; returns the room where the bot's answer containing `contains` came."""
    mark = user.mark()
    await user.send(room, text)
    answer = await user.expect(sender=bot, contains=contains, after=mark)
    return answer.room_id


async def test_matrix_every_confidential_command_from_a_shared_room_and_a_direct_room(matrix: MatrixWorld) -> None:
    alice = await matrix.user("alice")  # an administrator: opens the community, the consultation, the crisis
    hannah = await matrix.user("hannah")  # HR
    marc = await matrix.user("marc")  # a member, the nominator
    bob = await matrix.user("bob")  # the nominee
    await matrix.start_bot(admins=(default_platforms().parse_account(f"matrix:{alice.user_id}"),))
    bot = matrix.bot_id
    general = await matrix.room_with_bot(alice, hannah, marc, bob)
    await say(alice, general, f"!cercle role grant {hannah.user_id} hr", bot, "hr")
    await say(alice, general, '!cercle community create cafe "Café" --topics data', bot, "created")
    await say(alice, general, "!cercle community link cafe", bot, "now linked")
    for person in (hannah, marc, bob):
        await say(person, general, "!cercle community join cafe", bot, "Welcome")
    mark = bob.mark()
    await say(hannah, general, '!cercle position open "Data engineer" --site Lyon --skills data', bot, "P1")
    await say(alice, general, '!cercle consult open cafe "Trust the board?" "Yes" "No" --anonymous', bot, "V1")
    await say(alice, general, '!cercle crisis declare "Site closure" --audience cafe', bot, "C1")
    await say(alice, general, '!cercle crisis announce C1 "The Lyon site closes."', bot, "queued")

    # The posts in the room invite nobody to type a confidential command there, and offer no public vote.
    position = await bob.expect(general, sender=bot, contains="New internal position P1", after=mark)
    assert "In your direct room with Cercle (not here), type `!cercle nominate P1" in position.body
    consultation = await bob.expect(general, sender=bot, contains="Trust the board?", after=mark)
    assert "React with" not in consultation.body
    assert "In your direct room with Cercle (not here), type `!cercle vote V1 1` to: 1. Yes" in consultation.body
    assert not [s for s in bob.seen[mark:] if s.type in POLL_START]
    crisis = await bob.expect(general, sender=bot, contains="The Lyon site closes.", after=mark)
    assert "In your direct room with Cercle (not here), type `!cercle crisis ask C1" in crisis.body
    assert "React with ✅ to: Acknowledge" in crisis.body  # acknowledging is no secret

    # marc nominates bob from a direct room: N1 awaits bob's consent.
    marc_dm = await say(marc, general, f'!cercle nominate P1 {bob.user_id} "{WHY}"', bot,
                        "this command is confidential")
    assert marc_dm != general  # refused in the room: the bot opened marc's direct room and said so there
    await say(marc, marc_dm, f'nominate P1 {bob.user_id} "{WHY}"', bot, "Nomination N1")

    # Shared room: every role, every confidential command, refused in the person's direct room; nothing changes.
    roles = {"member": marc, "nominee": bob, "hr": hannah, "admin": alice}
    await delivered(matrix)  # what was queued so far has gone out (its rows change no more)
    before = user_rows(matrix.engine)
    room_mark = alice.mark()
    direct_rooms: dict[str, set[str]] = {}
    for role, line in CASES:
        person = roles[role]
        mark = person.mark()
        await person.send(general, "!cercle " + line.format(nominee=bob.user_id))
        refusal = await person.expect(sender=bot, after=mark, where=lambda s: any(r in s.body for r in REFUSED))
        assert refusal.room_id != general and "Type it here, in your private conversation" in refusal.body, line
        direct_rooms.setdefault(role, set()).add(refusal.room_id)
    # The reaction a public vote would be: nothing happens either.
    for key in ("1️⃣", "2️⃣", "👍"):
        await bob.react(general, consultation.event_id, key)
    await asyncio.sleep(1.0)
    assert user_rows(matrix.engine) == before
    assert all(len(rooms) == 1 for rooms in direct_rooms.values()), direct_rooms  # one direct room each, reused
    assert direct_rooms["member"] == {marc_dm}
    in_room = json.dumps([m.body for m in alice.messages(general, sender=bot, after=room_mark)])
    assert in_room == "[]", in_room  # the room read nothing from the bot about any of it

    # Direct rooms: the same commands run.
    bob_dm = next(iter(direct_rooms["nominee"]))
    hannah_dm = next(iter(direct_rooms["hr"]))
    await say(bob, bob_dm, "nomination show N1", bot, "N1")
    await say(hannah, hannah_dm, "nomination list --all", bot, "N1")
    await say(bob, bob_dm, "nomination consent N1 yes", bot, "put forward")
    await say(marc, marc_dm, "vote V1 1", bot, "Your anonymous vote in V1 is counted")
    await say(bob, bob_dm, "vote V1 2", bot, "Your anonymous vote in V1 is counted")
    await say(marc, marc_dm, 'crisis ask C1 "Will the site close?" --anonymous', bot, "Keep the code")
    await say(hannah, hannah_dm, "nomination move N1 under_review", bot, "moved from")
    # No live tally of an anonymous consultation, for its manager either.
    await say(alice, general, "!cercle consult results V1", bot, "shown when it closes. 2 votes so far.")
    with session_scope(matrix.engine) as session:
        assert [n.state for n in session.exec(select(Nomination))] == ["under_review"]
        assert [o.votes for o in session.exec(select(ConsultationOption).order_by(col(ConsultationOption.number)))] == \
            [1, 1]
        assert len(session.exec(select(CrisisQuestion)).all()) == 1
