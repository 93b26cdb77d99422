"""The Matrix bot's end-to-end encryption state (matrix-nio's crypto store, kept in Cercle's database).

Keeping it here rather than in nio's SQLite file lets a restart, a new container or another replica take
over the same device: it decrypts and encrypts in the same rooms and nobody re-verifies anything.
Every secret column (`pickle`) is a vodozemac pickle encrypted with the account's pickle key, and that
key is stored sealed with `CERCLE_SECRET_KEY` (`pickle_key`): a copy of the database alone reveals no key.
Everything else (device keys, room and user ids, session ids) is public or metadata.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.tables.base import UTCDateTime, utcnow


class MatrixCryptoAccount(SQLModel, table=True):
    """The bot's Olm account for one (user, device). `generation` fences writers: a process that takes the
    device bumps it, and every later write of a process holding an older generation is refused."""

    __tablename__ = "matrix_crypto_account"
    __table_args__ = (UniqueConstraint("user_id", "device_id", name="uq_matrix_crypto_account"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: str = Field(max_length=255)
    device_id: str = Field(max_length=255)
    device_name: str = Field(default="", max_length=255)
    pickle_key: str = Field(sa_type=Text)  # the random pickle key, sealed with CERCLE_SECRET_KEY
    pickle: str = Field(sa_type=Text)  # vodozemac Account pickle
    shared: bool = Field(default=False)  # device keys uploaded to the homeserver
    generation: int = Field(default=0)
    holder: str = Field(default="", max_length=128)  # who took the device last (host:pid), for operators
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sync_token: str | None = Field(default=None, sa_type=Text)
    cross_signing: str | None = Field(default=None, sa_type=Text)  # the bot's cross-signing seeds, sealed
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class MatrixCryptoOlmSession(SQLModel, table=True):
    """A one-to-one Olm session with another device (carries room keys to and from it)."""

    __tablename__ = "matrix_crypto_olm_session"
    __table_args__ = (UniqueConstraint("account_id", "session_id", name="uq_matrix_crypto_olm_session"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="matrix_crypto_account.id", index=True)
    sender_key: str = Field(max_length=128)  # the other device's curve25519 key
    session_id: str = Field(max_length=128)
    pickle: str = Field(sa_type=Text)
    created_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime = Field(sa_type=UTCDateTime)


class MatrixCryptoGroupSession(SQLModel, table=True):
    """An inbound Megolm session: decrypts one sender's messages in one room (the bot's own included)."""

    __tablename__ = "matrix_crypto_group_session"
    __table_args__ = (UniqueConstraint("account_id", "room_id", "sender_key", "session_id",
                                       name="uq_matrix_crypto_group_session"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="matrix_crypto_account.id", index=True)
    room_id: str = Field(max_length=255)
    sender_key: str = Field(max_length=128)
    session_id: str = Field(max_length=128)
    signing_key: str = Field(max_length=128)  # the sender's ed25519 key
    forwarding_chain: str = Field(default="[]", sa_type=Text)  # JSON list of curve25519 keys
    pickle: str = Field(sa_type=Text)


class MatrixCryptoOutboundSession(SQLModel, table=True):
    """The bot's current outbound Megolm session in a room, with whom it was shared. Written after each
    encryption and before the message leaves, so a successor never reuses a message index."""

    __tablename__ = "matrix_crypto_outbound_session"
    __table_args__ = (UniqueConstraint("account_id", "room_id", name="uq_matrix_crypto_outbound_session"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="matrix_crypto_account.id", index=True)
    room_id: str = Field(max_length=255)
    session_id: str = Field(max_length=128)
    pickle: str = Field(sa_type=Text)
    created_at: datetime = Field(sa_type=UTCDateTime)
    message_count: int = Field(default=0)
    shared_with: str = Field(default="[]", sa_type=Text)  # JSON [[user id, device id], ...]
    ignored: str = Field(default="[]", sa_type=Text)


class MatrixCryptoDevice(SQLModel, table=True):
    """Another device's public keys (first seen keys are kept: a changed ed25519 key is refused by nio)
    and the bot's trust in it (unset, verified, ignored, blacklisted)."""

    __tablename__ = "matrix_crypto_device"
    __table_args__ = (UniqueConstraint("account_id", "user_id", "device_id", name="uq_matrix_crypto_device"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="matrix_crypto_account.id", index=True)
    user_id: str = Field(max_length=255)
    device_id: str = Field(max_length=255)
    display_name: str = Field(default="", sa_type=Text)
    keys: str = Field(default="{}", sa_type=Text)  # JSON {"ed25519": ..., "curve25519": ...}
    deleted: bool = Field(default=False)
    trust: str = Field(default="unset", max_length=16)


class MatrixCryptoRoom(SQLModel, table=True):
    """A room known to be encrypted (an encrypted room never goes back to clear text)."""

    __tablename__ = "matrix_crypto_room"
    __table_args__ = (UniqueConstraint("account_id", "room_id", name="uq_matrix_crypto_room"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="matrix_crypto_account.id", index=True)
    room_id: str = Field(max_length=255)


class MatrixCryptoKeyRequest(SQLModel, table=True):
    """A room key the bot asked other devices for and has not received yet."""

    __tablename__ = "matrix_crypto_key_request"
    __table_args__ = (UniqueConstraint("account_id", "request_id", name="uq_matrix_crypto_key_request"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="matrix_crypto_account.id", index=True)
    request_id: str = Field(max_length=255)
    session_id: str = Field(max_length=128)
    room_id: str = Field(max_length=255)
    algorithm: str = Field(max_length=64)


class MatrixCryptoTrackedUser(SQLModel, table=True):
    """A user whose device list the bot follows; `outdated` until the next key query answered for them."""

    __tablename__ = "matrix_crypto_tracked_user"
    __table_args__ = (UniqueConstraint("account_id", "user_id", name="uq_matrix_crypto_tracked_user"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="matrix_crypto_account.id", index=True)
    user_id: str = Field(max_length=255)
    outdated: bool = Field(default=True)
