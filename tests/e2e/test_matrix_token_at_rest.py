"""The Matrix bot's access token is never stored in clear (issue #12): it is sealed with CERCLE_SECRET_KEY,
a copy of the database alone does not give it, and a clear token left by an earlier release is sealed at
the next start (and still used: no new login, the same device)."""

from __future__ import annotations

import pytest
from sqlalchemy import select as sa_select
from sqlmodel import SQLModel, col, select

from bot.secret_box import SecretBox, SecretUnreadable
from storage.db import session_scope
from storage.tables import KeyValue
from tests.support.matrix import SECRET, MatrixWorld

pytestmark = pytest.mark.synapse


def _database_copy(world: MatrixWorld) -> str:
    """Every value of every table: what a reader of a backup or a dump has."""
    with session_scope(world.engine) as session:
        return "\n".join(str(v) for table in SQLModel.metadata.sorted_tables
                         for row in session.execute(sa_select(table)).all() for v in row)


def _session_rows(world: MatrixWorld) -> dict[str, str]:
    with session_scope(world.engine) as session:
        rows = session.exec(select(KeyValue).where(col(KeyValue.key).contains(":session:")))
        return {row.key.rsplit(":", 1)[1]: row.value for row in rows}


async def test_the_access_token_is_sealed_and_a_clear_one_from_before_is_sealed_at_start(matrix: MatrixWorld) -> None:
    bot = await matrix.start_bot()
    assert bot.adapter is not None
    token, device = bot.adapter.client.access_token, bot.adapter.client.device_id
    assert token and device
    await bot.stop()

    assert token not in _database_copy(matrix)  # nowhere in clear
    rows = _session_rows(matrix)
    assert set(rows) == {"device_id", "access_token_sealed"}
    assert SecretBox((SECRET,)).open(rows["access_token_sealed"]) == token
    with pytest.raises(SecretUnreadable):  # without the key, the sealed value gives nothing
        SecretBox(("someone else's key, long enough to be a key",)).open(rows["access_token_sealed"])

    # A database written by a release that kept the token in clear.
    with session_scope(matrix.engine) as session:
        sealed = session.exec(select(KeyValue).where(col(KeyValue.key).endswith(":session:access_token_sealed"))).one()
        session.add(KeyValue(key=sealed.key.removesuffix("_sealed"), value=token))
        session.delete(sealed)
    assert token in _database_copy(matrix)

    again = await matrix.start_bot()
    assert again.adapter is not None
    assert (again.adapter.client.access_token, again.adapter.client.device_id) == (token, device)  # reused
    await again.stop()
    assert token not in _database_copy(matrix)
    assert set(_session_rows(matrix)) == {"device_id", "access_token_sealed"}
