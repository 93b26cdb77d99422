"""A confidential nomination through Matrix: every detail stays in (encrypted) direct rooms, consent by
reaction; the shared room sees only what is not confidential."""

from __future__ import annotations

import asyncio

import pytest

from bot.app import default_platforms
from tests.support.matrix import MatrixWorld

pytestmark = pytest.mark.synapse


async def test_a_nomination_stays_in_direct_rooms_and_consent_is_a_reaction(matrix: MatrixWorld) -> None:
    alice = await matrix.user("alice")  # an administrator, who takes the hr role
    bob = await matrix.user("bob")  # the nominee
    carol = await matrix.user("carol")  # the nominator
    await matrix.start_bot(admins=(default_platforms().parse_account(f"matrix:{alice.user_id}"),))
    general = await matrix.room_with_bot(alice, bob, carol)
    await alice.send(general, f"!cercle role grant {alice.user_id} hr")
    await alice.expect(sender=matrix.bot_id, contains="hr role")
    room_mark = alice.mark()

    await alice.send(general, '!cercle position open "Data engineer" --site "Lyon"')
    opened = await alice.expect(sender=matrix.bot_id, contains="P1")
    assert opened.room_id == general  # opening a position is no secret: answered in place
    room_mark = alice.mark()

    # Typed in the shared room, the nomination is refused (issue 12): the refusal comes in carol's direct room.
    await carol.send(general, f'!cercle nominate P1 {bob.user_id} "Great at SQL and very kind"')
    refusal = await carol.expect(sender=matrix.bot_id, contains="this command is confidential")
    assert refusal.room_id != general and "Type it here" in refusal.body
    await carol.send(refusal.room_id, f'nominate P1 {bob.user_id} "Great at SQL and very kind"')
    thanks = await carol.expect(refusal.room_id, sender=matrix.bot_id, contains="Nomination N1")

    request = await bob.expect(sender=matrix.bot_id, contains="Great at SQL and very kind")
    assert request.room_id != general
    assert "React with 👍 to: Yes, put me forward" in request.body
    mark = bob.mark()
    await bob.react(request.room_id, request.event_id, "👍")
    await bob.expect(request.room_id, sender=matrix.bot_id, contains="you are put forward", after=mark)
    # The nominator hears of the consent, in private too.
    await carol.expect(thanks.room_id, sender=matrix.bot_id,
                       where=lambda s: s.event_id != thanks.event_id and "N1" in s.body)

    # Nothing about the nomination ever reached the shared room.
    await asyncio.sleep(0.5)
    shared = [m.body for m in alice.messages(general, sender=matrix.bot_id, after=room_mark)]
    assert not [b for b in shared if "SQL" in b or "N1" in b or "Data engineer" in b or "private" in b
                or "confidential" in b], shared
    for seen in (request, thanks):  # the homeserver holds ciphertext only
        assert (await bob.raw_event(seen.room_id, seen.event_id) if seen is request
                else await carol.raw_event(seen.room_id, seen.event_id))["type"] == "m.room.encrypted"
