"""matrix-nio's crypto store (`MatrixStore`) on Cercle's database instead of nio's local SQLite file.

nio's Olm machine calls these methods synchronously, from the event loop, right after each change and
before the change has any effect outside (an Olm session is saved before the to-device message that
used it is sent), so a process killed at any moment leaves a state its successor can continue from.
Every write runs in one transaction that first checks, under a row lock, that this process still holds
the device (`claim.py`); reads need no check. Secrets are vodozemac pickles encrypted with the
claim's pickle passphrase (itself sealed with `CERCLE_SECRET_KEY` in the account row).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

from nio.crypto import (
    DeviceStore,
    GroupSessionStore,
    InboundGroupSession,
    OlmAccount,
    OlmDevice,
    OutgoingKeyRequest,
    Session,
    SessionStore,
)
from nio.store import MatrixStore
from sqlalchemy import delete, update
from sqlalchemy.engine import Engine
from sqlmodel import Session as DbSession
from sqlmodel import col, select

from adapters.matrix.e2e.claim import DeviceClaim, DeviceTakenOver
from adapters.matrix.e2e.outbound import OutboundSessions
from adapters.matrix.e2e.rows import aware, naive_local, upsert
from adapters.matrix.e2e.trust import DeviceTrust
from storage.db import session_scope
from storage.tables import (
    MatrixCryptoAccount,
    MatrixCryptoDevice,
    MatrixCryptoGroupSession,
    MatrixCryptoKeyRequest,
    MatrixCryptoOlmSession,
    MatrixCryptoRoom,
    MatrixCryptoTrackedUser,
)


class DatabaseCryptoStore(DeviceTrust, OutboundSessions, MatrixStore):
    """One device's crypto state. Built by `CryptoClient.load_store` after `claim_device`."""

    def __init__(self, engine: Engine, claim: DeviceClaim) -> None:  # no super().__init__: no SQLite file
        self.engine = engine
        self.claim = claim
        self.account_id = claim.account_id
        self.user_id = claim.user_id
        self.device_id = claim.device_id
        self.store_path = ""
        self.database_name = ""
        self.pickle_key = claim.pickle_passphrase
        DeviceTrust.__init__(self)

    # nio's MatrixStore is a dataclass: its generated repr would print the pickle passphrase
    def __repr__(self) -> str:
        return f"DatabaseCryptoStore({self.user_id} {self.device_id} generation {self.claim.generation})"

    __eq__ = object.__eq__
    __hash__ = object.__hash__

    # -- the fence -----------------------------------------------------------------------------------
    @contextmanager
    def writing(self) -> Iterator[DbSession]:
        """A transaction that may write only while this process holds the device."""
        with session_scope(self.engine) as session:
            self._check(session)
            yield session

    def _check(self, session: DbSession) -> None:
        query = select(MatrixCryptoAccount.generation).where(col(MatrixCryptoAccount.id) == self.account_id)
        generation = session.exec(query.with_for_update()).first()
        if generation != self.claim.generation:
            raise DeviceTakenOver(f"the Matrix device {self.device_id} was taken by another process "
                                  f"(generation {generation}, this one holds {self.claim.generation})")

    def check_fence(self) -> None:
        """Raise `DeviceTakenOver` when another process took the device (checked before each sync)."""
        with session_scope(self.engine) as session:
            self._check(session)

    # -- account -------------------------------------------------------------------------------------
    def load_account(self) -> OlmAccount | None:
        with session_scope(self.engine) as session:
            row = session.get(MatrixCryptoAccount, self.account_id)
            if row is None:
                return None
            return OlmAccount.from_pickle(row.pickle.encode(), self.pickle_key, row.shared)

    def save_account(self, account: OlmAccount) -> None:
        with self.writing() as session:
            session.execute(update(MatrixCryptoAccount).where(col(MatrixCryptoAccount.id) == self.account_id)
                            .values(pickle=account.pickle(self.pickle_key).decode(), shared=account.shared))

    def load_sync_token(self) -> str | None:
        with session_scope(self.engine) as session:
            row = session.get(MatrixCryptoAccount, self.account_id)
            return row.sync_token if row else None

    def save_sync_token(self, token: str) -> None:
        with self.writing() as session:
            session.execute(update(MatrixCryptoAccount).where(col(MatrixCryptoAccount.id) == self.account_id)
                            .values(sync_token=token))

    # -- Olm sessions (one-to-one, with other devices) -------------------------------------------------
    def load_sessions(self) -> SessionStore:
        store = SessionStore()
        with session_scope(self.engine) as session:
            rows = session.exec(select(MatrixCryptoOlmSession)
                                .where(col(MatrixCryptoOlmSession.account_id) == self.account_id))
            for row in rows:
                olm = Session.from_pickle(row.pickle.encode(), naive_local(row.created_at), self.pickle_key,
                                          use_time=naive_local(row.used_at))
                store.add(row.sender_key, olm)
        return store

    def save_session(self, curve_key: str, session: Session) -> None:
        row = {"account_id": self.account_id, "sender_key": curve_key, "session_id": session.id,
               "pickle": session.pickle(self.pickle_key).decode(), "created_at": aware(session.creation_time),
               "used_at": aware(session.use_time)}
        with self.writing() as db:
            upsert(db, MatrixCryptoOlmSession, [row], ["account_id", "session_id"],
                   update=["sender_key", "pickle", "used_at"])

    # -- Megolm inbound sessions (decrypting room messages) ------------------------------------------
    def load_inbound_group_sessions(self) -> GroupSessionStore:
        store = GroupSessionStore()
        with session_scope(self.engine) as session:
            rows = session.exec(select(MatrixCryptoGroupSession)
                                .where(col(MatrixCryptoGroupSession.account_id) == self.account_id))
            for row in rows:
                store.add(InboundGroupSession.from_pickle(row.pickle.encode(), row.signing_key, row.sender_key,
                                                          row.room_id, self.pickle_key,
                                                          list(json.loads(row.forwarding_chain))))
        return store

    def save_inbound_group_session(self, session: InboundGroupSession) -> None:
        row = {"account_id": self.account_id, "room_id": session.room_id, "sender_key": session.sender_key,
               "session_id": session.id, "signing_key": session.ed25519,
               "forwarding_chain": json.dumps(list(session.forwarding_chain)),
               "pickle": session.pickle(self.pickle_key).decode()}
        with self.writing() as db:
            upsert(db, MatrixCryptoGroupSession, [row], ["account_id", "room_id", "sender_key", "session_id"],
                   update=["pickle", "forwarding_chain"])

    # -- other devices' keys ---------------------------------------------------------------------------
    def load_device_keys(self) -> DeviceStore:
        store = DeviceStore()
        with session_scope(self.engine) as session:
            rows = session.exec(select(MatrixCryptoDevice).where(col(MatrixCryptoDevice.account_id) == self.account_id))
            for row in rows:
                device = OlmDevice(row.user_id, row.device_id, dict(json.loads(row.keys)),
                                   display_name=row.display_name, deleted=row.deleted,
                                   trust_state=self.remember_trust(row.user_id, row.device_id, row.trust))
                store.add(device)
        return store

    def save_device_keys(self, device_keys: dict[str, dict[str, OlmDevice]]) -> None:
        rows = [{"account_id": self.account_id, "user_id": user_id, "device_id": device_id,
                 "display_name": device.display_name or "", "keys": json.dumps(device.keys, sort_keys=True),
                 "deleted": bool(device.deleted), "trust": self.trust_name(user_id, device_id)}
                for user_id, devices in device_keys.items() for device_id, device in devices.items()]
        if not rows:
            return
        with self.writing() as db:
            upsert(db, MatrixCryptoDevice, rows, ["account_id", "user_id", "device_id"],
                   update=["display_name", "keys", "deleted"])

    # -- encrypted rooms -------------------------------------------------------------------------------
    def load_encrypted_rooms(self) -> set[str]:
        with session_scope(self.engine) as session:
            rows = session.exec(select(MatrixCryptoRoom.room_id)
                                .where(col(MatrixCryptoRoom.account_id) == self.account_id))
            return set(rows)

    def save_encrypted_rooms(self, rooms: set[str]) -> None:
        if not rooms:  # called after every sync, nearly always with nothing new
            return
        with self.writing() as db:
            upsert(db, MatrixCryptoRoom, [{"account_id": self.account_id, "room_id": r} for r in sorted(rooms)],
                   ["account_id", "room_id"])

    def delete_encrypted_room(self, room: str) -> None:
        with self.writing() as db:
            db.execute(delete(MatrixCryptoRoom).where(col(MatrixCryptoRoom.account_id) == self.account_id,
                                                      col(MatrixCryptoRoom.room_id) == room))

    # -- room keys the bot asked for -----------------------------------------------------------------
    def load_outgoing_key_requests(self) -> dict[str, OutgoingKeyRequest]:
        with session_scope(self.engine) as session:
            rows = session.exec(select(MatrixCryptoKeyRequest)
                                .where(col(MatrixCryptoKeyRequest.account_id) == self.account_id))
            return {r.request_id: OutgoingKeyRequest(r.request_id, r.session_id, r.room_id, r.algorithm)
                    for r in rows}

    def add_outgoing_key_request(self, key_request: OutgoingKeyRequest) -> None:
        row = {"account_id": self.account_id, "request_id": key_request.request_id,
               "session_id": key_request.session_id, "room_id": key_request.room_id,
               "algorithm": key_request.algorithm}
        with self.writing() as db:
            upsert(db, MatrixCryptoKeyRequest, [row], ["account_id", "request_id"])

    def remove_outgoing_key_request(self, key_request: OutgoingKeyRequest) -> None:
        with self.writing() as db:
            db.execute(delete(MatrixCryptoKeyRequest).where(
                col(MatrixCryptoKeyRequest.account_id) == self.account_id,
                col(MatrixCryptoKeyRequest.request_id) == key_request.request_id))

    # -- users whose devices are followed (not in nio's interface: nio keeps them in memory) ----------
    def load_tracked_users(self) -> tuple[set[str], set[str]]:
        """(tracked users, users whose device list must be queried again)."""
        with session_scope(self.engine) as session:
            rows = list(session.exec(select(MatrixCryptoTrackedUser)
                                     .where(col(MatrixCryptoTrackedUser.account_id) == self.account_id)))
        return {r.user_id for r in rows if not r.outdated}, {r.user_id for r in rows if r.outdated}

    def save_tracked_users(self, tracked: set[str], outdated: set[str]) -> None:
        """Written before the sync token that announced a device change is saved, so a successor still
        queries the users a crash left unqueried."""
        rows = [{"account_id": self.account_id, "user_id": u, "outdated": u in outdated}
                for u in sorted(tracked | outdated)]
        if not rows:
            return
        with self.writing() as db:
            upsert(db, MatrixCryptoTrackedUser, rows, ["account_id", "user_id"], update=["outdated"])

