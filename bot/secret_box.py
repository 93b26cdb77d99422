"""Secrets kept in the database (platform tokens, Matrix keys) are encrypted with `CERCLE_SECRET_KEY`.

A copy of the database alone then does not let anyone act as the bot. The key is any string of at
least 32 characters (an operator's passphrase, or `cercle secret-key` output); the encryption key
proper is derived from it with HKDF-SHA256. `CERCLE_SECRET_KEY=new,old` rotates: new values are
encrypted with the first key, values written with an older key still decrypt (and `rewrap` moves
them to the new one).
"""

from __future__ import annotations

import base64
import secrets

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MIN_KEY_LENGTH = 32
_INFO = b"cercle secret box v1"


class SecretKeyMissing(RuntimeError):
    """A secret must be stored or read and `CERCLE_SECRET_KEY` is not set."""

    def __init__(self, what: str) -> None:
        super().__init__(f"CERCLE_SECRET_KEY is required to store {what} (any string of at least "
                         f"{MIN_KEY_LENGTH} characters; `cercle secret-key` prints a new one)")


class SecretUnreadable(RuntimeError):
    """A stored secret does not decrypt with any of the keys given (wrong or rotated-away key)."""


def new_key() -> str:
    """A fresh random key for `CERCLE_SECRET_KEY`."""
    return secrets.token_urlsafe(32)


def check_key_setting(value: str) -> tuple[str, ...]:
    """The keys in a `CERCLE_SECRET_KEY` value (comma separated, newest first); ValueError if one is too short."""
    keys = tuple(k.strip() for k in value.split(",") if k.strip())
    if not keys:
        raise ValueError("give at least one key")
    for key in keys:
        if len(key) < MIN_KEY_LENGTH:
            raise ValueError(f"each key needs at least {MIN_KEY_LENGTH} characters")
    return keys


def _fernet(key: str) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(key.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


class SecretBox:
    """Encrypts and decrypts values stored at rest (authenticated: a changed value does not decrypt)."""

    def __init__(self, keys: tuple[str, ...]) -> None:
        if not keys:
            raise ValueError("a SecretBox needs at least one key")
        self._box = MultiFernet([_fernet(k) for k in keys])

    def seal(self, value: str | bytes) -> str:
        data = value.encode() if isinstance(value, str) else value
        return self._box.encrypt(data).decode("ascii")

    def open_bytes(self, token: str) -> bytes:
        try:
            return self._box.decrypt(token.encode("ascii"))
        except (InvalidToken, ValueError):
            raise SecretUnreadable("a stored secret does not decrypt with CERCLE_SECRET_KEY "
                                   "(was the key changed without keeping the old one after a comma?)") from None

    def open(self, token: str) -> str:
        return self.open_bytes(token).decode()

    def rewrap(self, token: str) -> str:
        """The same secret encrypted with the newest key."""
        try:
            return self._box.rotate(token.encode("ascii")).decode("ascii")
        except (InvalidToken, ValueError):
            raise SecretUnreadable("a stored secret does not decrypt with CERCLE_SECRET_KEY") from None


def secret_box(keys: tuple[str, ...], what: str) -> SecretBox:
    """The box for `keys`, or a clear error naming the setting and what needed it."""
    if not keys:
        raise SecretKeyMissing(what)
    return SecretBox(keys)
