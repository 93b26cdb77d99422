"""Cross-signing the bot's own device, so people's clients see it as verified by its owner.

Element marks messages from a device its owner did not cross-sign ("Encrypted by a device not verified
by its owner"), and clients are moving to refusing such devices altogether. matrix-nio has no
cross-signing, so the bot makes its three keys itself (ed25519, with `cryptography`): the master key
signs the self-signing and user-signing keys, the self-signing key signs the bot's device. The private
seeds are kept in the account row, sealed with `CERCLE_SECRET_KEY`, and written before anything is
published. Uploading the keys may ask for the bot's password (user-interactive auth); with an access
token only, or when the account already has a master key made elsewhere, the device stays
uncross-signed and the reason is returned (the bot works the same; only the shield differs).
"""

from __future__ import annotations

import base64
import json
import logging
import os
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat
from sqlalchemy import update
from sqlmodel import col

from adapters.matrix.e2e.client import CryptoClient
from bot.secret_box import SecretBox
from storage.db import session_scope
from storage.tables import MatrixCryptoAccount

log = logging.getLogger(__name__)

USAGES = ("master", "self_signing", "user_signing")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


def canonical(obj: dict[str, Any]) -> bytes:
    """What Matrix signs: canonical JSON without `signatures` and `unsigned`."""
    body = {k: v for k, v in obj.items() if k not in ("signatures", "unsigned")}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


class SigningKeys:
    def __init__(self, seeds: dict[str, bytes]) -> None:
        self.keys = {usage: Ed25519PrivateKey.from_private_bytes(seeds[usage]) for usage in USAGES}

    @classmethod
    def generate(cls) -> SigningKeys:
        return cls({usage: os.urandom(32) for usage in USAGES})

    def sealed(self, box: SecretBox) -> str:
        seeds = {u: b64(k.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())) for u, k in self.keys.items()}
        return box.seal(json.dumps(seeds))

    @classmethod
    def unsealed(cls, box: SecretBox, token: str) -> SigningKeys:
        return cls({u: unb64(v) for u, v in json.loads(box.open(token)).items()})

    def public(self, usage: str) -> str:
        return b64(self.keys[usage].public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))

    def sign(self, usage: str, user_id: str, obj: dict[str, Any]) -> dict[str, Any]:
        """`obj` with this key's signature added."""
        signature = b64(self.keys[usage].sign(canonical(obj)))
        signed = dict(obj)
        signatures = {u: dict(s) for u, s in obj.get("signatures", {}).items()}
        signatures.setdefault(user_id, {})[f"ed25519:{self.public(usage)}"] = signature
        signed["signatures"] = signatures
        return signed

    def key_object(self, usage: str, user_id: str) -> dict[str, Any]:
        public = self.public(usage)
        obj: dict[str, Any] = {"user_id": user_id, "usage": [usage], "keys": {f"ed25519:{public}": public}}
        return obj if usage == "master" else self.sign("master", user_id, obj)


async def ensure_cross_signed(client: CryptoClient, box: SecretBox, password: str | None) -> str:
    """Make and publish the bot's cross-signing keys if it has none, and sign its device. Returns a short
    state for the logs and the health ("cross-signed", or why not)."""
    assert client.crypto_store is not None and client.claim is not None
    user = client.user_id
    status, published = await _call(client, "POST", "/_matrix/client/v3/keys/query", {"device_keys": {user: []}})
    if status != 200:
        return f"not cross-signed: keys query answered {status}"
    keys = await _load_or_make(client, box)
    master = published.get("master_keys", {}).get(user)
    if master is None:
        reason = await _publish(client, keys, password)
        if reason:
            return f"not cross-signed: {reason}"
    elif f"ed25519:{keys.public('master')}" not in master.get("keys", {}):
        return "not cross-signed: the account has a master key made elsewhere (reset it, or sign the device there)"
    device = published.get("device_keys", {}).get(user, {}).get(client.device_id)
    if device is None:
        return "not cross-signed: the device's keys are not published"
    if f"ed25519:{keys.public('self_signing')}" in device.get("signatures", {}).get(user, {}):
        return "cross-signed"
    signed = keys.sign("self_signing", user, device)
    status, answer = await _call(client, "POST", "/_matrix/client/v3/keys/signatures/upload",
                                 {user: {client.device_id: signed}})
    if status != 200 or answer.get("failures"):
        return f"not cross-signed: signature refused ({status})"
    return "cross-signed"


async def _load_or_make(client: CryptoClient, box: SecretBox) -> SigningKeys:
    """The stored keys, or new ones written (under the device's fence) before they are ever published."""
    assert client.crypto_store is not None
    store = client.crypto_store
    with session_scope(store.engine) as session:
        row = session.get(MatrixCryptoAccount, store.account_id)
        token = row.cross_signing if row else None
    if token:
        return SigningKeys.unsealed(box, token)
    keys = SigningKeys.generate()
    with store.writing() as session:
        session.execute(update(MatrixCryptoAccount).where(col(MatrixCryptoAccount.id) == store.account_id)
                        .values(cross_signing=keys.sealed(box)))
    return keys


async def _publish(client: CryptoClient, keys: SigningKeys, password: str | None) -> str | None:
    user = client.user_id
    body: dict[str, Any] = {"master_key": keys.key_object("master", user),
                            "self_signing_key": keys.key_object("self_signing", user),
                            "user_signing_key": keys.key_object("user_signing", user)}
    path = "/_matrix/client/v3/keys/device_signing/upload"
    status, answer = await _call(client, "POST", path, body)
    if status == 401 and "session" in answer:
        if not password:
            return "the homeserver asks for the bot's password to publish cross-signing keys (MATRIX_PASSWORD)"
        body["auth"] = {"type": "m.login.password", "identifier": {"type": "m.id.user", "user": user},
                        "password": password, "session": answer["session"]}
        status, answer = await _call(client, "POST", path, body)
    if status != 200:
        return f"cross-signing keys refused ({status} {answer.get('errcode', '')})".strip()
    log.info("Matrix encryption: published the bot's cross-signing keys")
    return None


async def _call(client: CryptoClient, method: str, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    response = await client.send(method, path, json.dumps(body),
                                 headers={"Authorization": f"Bearer {client.access_token}",
                                          "Content-Type": "application/json"})
    try:
        answer = await response.json(content_type=None)
    except ValueError:
        answer = {}
    finally:
        response.release()
    return response.status, dict(answer) if isinstance(answer, dict) else {}
