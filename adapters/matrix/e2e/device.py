"""Building the bot's encrypting client: log in on the stored device, take it, load its keys, publish them.

Leader only: the process that builds it takes the device from any other (`claim.py`). The device keeps
one stable display name ("Cercle bot", kept in the database), so people see one known session of the
bot in their clients, and its fingerprint (ed25519 key) is logged at start for admins who verify it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

from nio import Api, DevicesResponse, ErrorResponse, KeysQueryResponse
from sqlalchemy.engine import Engine

from adapters.matrix.e2e.claim import claim_device
from adapters.matrix.e2e.client import CryptoClient, CryptoSetupError
from adapters.matrix.e2e.cross_signing import ensure_cross_signed
from adapters.matrix.login import login
from adapters.matrix.platform import MatrixSettings
from adapters.matrix.state import MatrixState
from bot.secret_box import secret_box

log = logging.getLogger(__name__)

DEVICE_NAME = "Cercle bot"


async def open_crypto_client(engine: Engine, settings: MatrixSettings, secret_keys: Sequence[str], *,
                             device_name: str = DEVICE_NAME, holder: str | None = None) -> CryptoClient:
    """The bot's client with its crypto state loaded from the database and its keys published. `settings`:
    the Matrix section; `secret_keys`: CERCLE_SECRET_KEY's keys, newest first (the core's settings). Raises
    `SecretKeyMissing`/`SecretUnreadable` (CERCLE_SECRET_KEY), `LoginFailed` or `CryptoSetupError`."""
    assert settings.homeserver and settings.user_id
    box = secret_box(tuple(secret_keys), "the Matrix encryption keys")
    client = CryptoClient(settings.homeserver, settings.user_id, engine)
    started = time.monotonic()
    try:
        await login(client, settings, MatrixState(engine, client.user_id), box)
        claim = await asyncio.to_thread(claim_device, engine, box, client.user_id, client.device_id,
                                        device_name=device_name, holder=holder)
        await asyncio.to_thread(client.attach, claim)
        await check_published_keys(client)
        if client.should_upload_keys:
            uploaded = await client.keys_upload()
            if isinstance(uploaded, ErrorResponse):
                raise CryptoSetupError(f"the homeserver refused the device keys: {uploaded.status_code}")
        await keep_device_name(client, claim.device_name)
        client.cross_signing = await ensure_cross_signed(client, box, settings.password)
    except BaseException:
        await client.close()
        raise
    log.info("Matrix encryption: device %s (%s), fingerprint %s, %s, ready in %.0f ms", client.device_id,
             claim.device_name, fingerprint(client), client.cross_signing, (time.monotonic() - started) * 1000)
    return client


def fingerprint(client: CryptoClient) -> str:
    """The device's ed25519 key in groups of four, as Element shows a session key."""
    key = client.identity_keys["ed25519"]
    return " ".join(key[i:i + 4] for i in range(0, len(key), 4))


async def check_published_keys(client: CryptoClient) -> None:
    """What the homeserver holds for this device must be this account's keys. None (device deleted and
    made again by a new login): publish them again. Other keys: another client uses this device."""
    assert client.olm is not None
    method, path, data = Api.keys_query(client.access_token, {client.user_id})
    response = await client._send(KeysQueryResponse, method, path, data)
    if isinstance(response, ErrorResponse):
        raise CryptoSetupError(f"cannot read the device's published keys: {response.status_code}")
    published = response.device_keys.get(client.user_id, {}).get(client.device_id)
    ours = client.identity_keys
    if published is None:
        if client.olm.account.shared:
            log.warning("Matrix encryption: the homeserver lost this device's keys; publishing them again")
            client.olm.account.shared = False
            await asyncio.to_thread(client.olm.save_account)
        return
    keys = published.get("keys", {})
    if (keys.get(f"ed25519:{client.device_id}") != ours["ed25519"]
            or keys.get(f"curve25519:{client.device_id}") != ours["curve25519"]):
        raise CryptoSetupError(f"the device {client.device_id} has other encryption keys on the homeserver "
                               "(another client uses it): log the bot in on a device of its own")
    if not client.olm.account.shared:  # published, but the process stopped before it could note it
        client.olm.account.shared = True
        await asyncio.to_thread(client.olm.save_account)


async def keep_device_name(client: CryptoClient, name: str) -> None:
    """Rename the device only when it differs (a rename tells every user's client to re-read its keys)."""
    devices = await client.devices()
    if isinstance(devices, DevicesResponse):
        current = next((d.display_name for d in devices.devices if d.id == client.device_id), None)
        if current == name:
            return
    answer = await client.update_device(client.device_id, {"display_name": name})
    if isinstance(answer, ErrorResponse):
        log.warning("Matrix encryption: could not name the device: %s", answer.status_code)
