"""The bot's outbound Megolm sessions, kept so that a successor can go on with them.

nio keeps them in memory only: after a restart every room would get a new session shared again with
every device. Saved after each encryption, before the message leaves (a successor never reuses a
message index, which recipients would refuse as a replay), and after each share; deleted when nio
drops the session (someone left, a device changed). `CryptoClient` decides whether a saved session may
be taken up again (nobody who left the room had it).
"""

from __future__ import annotations

import json
from contextlib import AbstractContextManager

from nio.crypto import OutboundGroupSession
from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlmodel import Session as DbSession
from sqlmodel import col, select

from adapters.matrix.e2e.rows import aware, naive_local, upsert
from storage.db import session_scope
from storage.tables import MatrixCryptoOutboundSession


class OutboundSessions:
    """Mixed into `DatabaseCryptoStore`."""

    engine: Engine
    account_id: int
    pickle_key: str

    def writing(self) -> AbstractContextManager[DbSession]:
        raise NotImplementedError

    def save_outbound_group_session(self, room_id: str, session: OutboundGroupSession) -> None:
        row = {"account_id": self.account_id, "room_id": room_id, "session_id": session.id,
               "pickle": session.pickle(self.pickle_key).decode(), "created_at": aware(session.creation_time),
               "message_count": session.message_count,
               "shared_with": json.dumps(sorted(session.users_shared_with)),
               "ignored": json.dumps(sorted(session.users_ignored))}
        with self.writing() as db:
            upsert(db, MatrixCryptoOutboundSession, [row], ["account_id", "room_id"],
                   update=["session_id", "pickle", "created_at", "message_count", "shared_with", "ignored"])

    def load_outbound_group_session(self, room_id: str) -> OutboundGroupSession | None:
        with session_scope(self.engine) as db:
            row = db.exec(select(MatrixCryptoOutboundSession).where(
                col(MatrixCryptoOutboundSession.account_id) == self.account_id,
                col(MatrixCryptoOutboundSession.room_id) == room_id)).first()
        if row is None:
            return None
        session = OutboundGroupSession.from_pickle(row.pickle.encode(), self.pickle_key)
        session.creation_time = naive_local(row.created_at)
        session.message_count = row.message_count
        session.users_shared_with = {(u, d) for u, d in json.loads(row.shared_with)}
        session.users_ignored = {(u, d) for u, d in json.loads(row.ignored)}
        return session

    def delete_outbound_group_session(self, room_id: str) -> None:
        with self.writing() as db:
            db.execute(delete(MatrixCryptoOutboundSession).where(
                col(MatrixCryptoOutboundSession.account_id) == self.account_id,
                col(MatrixCryptoOutboundSession.room_id) == room_id))
