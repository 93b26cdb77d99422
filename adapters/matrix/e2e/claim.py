"""Taking the bot's device: one process at a time holds its Olm account.

The account row is created once (a new vodozemac account and a random pickle key sealed with
`CERCLE_SECRET_KEY`). Each process that takes the device bumps `generation` in the same transaction;
every later crypto write checks that generation under a row lock, so a process that lost the device
(an old leader that has not noticed yet) fails its next write instead of forking the Olm state.
"""

from __future__ import annotations

import base64
import os
import socket
from dataclasses import dataclass, field

from nio.crypto import OlmAccount
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.secret_box import SecretBox
from storage.db import session_scope
from storage.tables import MatrixCryptoAccount
from storage.tables.base import utcnow


class DeviceTakenOver(RuntimeError):
    """Another process took the bot's device after this one: this process must stop using it (stop syncing,
    sending in encrypted rooms) and build a new client if it leads again."""


@dataclass(frozen=True)
class DeviceClaim:
    """What a process holds after taking the device: the row, its fencing generation and the pickle key."""

    account_id: int
    user_id: str
    device_id: str
    device_name: str
    generation: int
    pickle_passphrase: str = field(default="", repr=False)  # opens the pickles: never printed


def holder_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:128]


def claim_device(engine: Engine, box: SecretBox, user_id: str, device_id: str, *, device_name: str,
                 holder: str | None = None) -> DeviceClaim:
    """Create the device's account on first use, then take it (generation + 1). A `CERCLE_SECRET_KEY` that
    does not open the stored pickle key raises `SecretUnreadable` and changes nothing."""
    for _attempt in range(3):
        try:
            with session_scope(engine) as session:
                row = _locked(session, user_id, device_id)
                if row is None:
                    row = _new_account(box, user_id, device_id, device_name)
                    session.add(row)
                    session.flush()
                passphrase = box.open(row.pickle_key)  # before any change: a wrong key leaves the row as it was
                row.generation += 1
                row.holder = holder or holder_name()
                row.claimed_at = utcnow()
                row.pickle_key = box.seal(passphrase)  # with the newest key, after a rotation of CERCLE_SECRET_KEY
                assert row.id is not None
                return DeviceClaim(row.id, user_id, device_id, row.device_name, row.generation, passphrase)
        except IntegrityError:
            continue  # another process created the row at the same moment: take the existing one
    raise RuntimeError("could not create the Matrix crypto account row")


def _locked(session: Session, user_id: str, device_id: str) -> MatrixCryptoAccount | None:
    query = select(MatrixCryptoAccount).where(col(MatrixCryptoAccount.user_id) == user_id,
                                              col(MatrixCryptoAccount.device_id) == device_id)
    return session.exec(query.with_for_update()).first()


def _new_account(box: SecretBox, user_id: str, device_id: str, device_name: str) -> MatrixCryptoAccount:
    passphrase = base64.urlsafe_b64encode(os.urandom(32)).decode()
    account = OlmAccount()
    return MatrixCryptoAccount(user_id=user_id, device_id=device_id, device_name=device_name,
                               pickle_key=box.seal(passphrase), pickle=account.pickle(passphrase).decode(),
                               shared=False, generation=0)
