"""Mentions on Matrix are checked with the homeserver (a real Synapse) before Cercle creates a person: a
room member as the room knows them, anyone else through their profile; an unknown user creates nothing."""

from __future__ import annotations

import pytest
from sqlmodel import select

from bot.app import default_platforms
from storage.db import session_scope
from storage.tables import Account
from tests.support.matrix import MatrixWorld

pytestmark = pytest.mark.synapse


async def test_an_unknown_matrix_user_creates_nobody_and_a_real_one_is_found(matrix: MatrixWorld) -> None:
    alice = await matrix.user("alice")  # an administrator
    carol = await matrix.user("carol")  # exists on the homeserver, not in the room
    await matrix.start_bot(admins=(default_platforms().parse_account(f"matrix:{alice.user_id}"),))
    room = await matrix.room_with_bot(alice)
    ghost = f"@ghost-{carol.user_id[1:].split(':')[0]}:{carol.user_id.split(':')[1]}"

    mark = alice.mark()
    await alice.send(room, f"!cercle role grant {ghost} communicator")
    refused = await alice.expect(room, sender=matrix.bot_id, contains="cannot find", after=mark)
    assert ghost in refused.body and "nothing was done" in refused.body

    mark = alice.mark()
    await alice.send(room, f"!cercle role grant {carol.user_id} communicator")
    await alice.expect(room, sender=matrix.bot_id, contains="communicator role", after=mark)
    with session_scope(matrix.engine) as session:
        ids = {a.user_id for a in session.exec(select(Account))}
    assert carol.user_id in ids and ghost not in ids
