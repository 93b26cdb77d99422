"""A confidential nomination through Matrix: every detail stays in direct rooms, consent by reaction."""

from __future__ import annotations

import asyncio

import pytest

from bot.app import default_platforms
from tests.support.matrix import MatrixWorld

pytestmark = pytest.mark.synapse


async def test_a_nomination_stays_in_direct_rooms_and_consent_is_a_reaction(matrix: MatrixWorld) -> None:
    alice = await matrix.user("alice")  # HR (an administrator)
    bob = await matrix.user("bob")  # the nominee
    carol = await matrix.user("carol")  # the nominator
    await matrix.start_bot(admins=(default_platforms().parse_account(f"matrix:{alice.user_id}"),))
    general = await matrix.room_with_bot(alice, bob, carol)
    room_mark = alice.mark()

    await alice.send(general, '!cercle position open "Data engineer" --site "Lyon"')
    opened = await alice.expect(sender=matrix.bot_id, contains="P1")
    assert opened.room_id != general

    await carol.send(general, f'!cercle nominate P1 {bob.user_id} "Great at SQL and very kind"')
    thanks = await carol.expect(sender=matrix.bot_id, contains="Nomination N1")
    assert thanks.room_id != general

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
    assert shared and all("private message" in body for body in shared), shared
    assert not [b for b in shared if "SQL" in b or "N1" in b or "Data engineer" in b]
