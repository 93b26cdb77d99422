"""Logging in once and reusing the device: the device id and the token live in the database, the token
sealed with CERCLE_SECRET_KEY (`bot.secret_box`): a copy of the database alone neither reads the bot's
conversations nor posts as Cercle. A token kept in clear by an earlier release is sealed at the next
start (and the clear one removed)."""

from __future__ import annotations

import asyncio

from nio import AsyncClient, LoginResponse, ProfileGetDisplayNameResponse, WhoamiResponse

from adapters.matrix.platform import MatrixSettings
from adapters.matrix.state import MatrixState
from bot.secret_box import SecretBox

SEALED = "access_token_sealed"  # the session token, sealed with CERCLE_SECRET_KEY
CLEAR = "access_token"  # where releases before issue #12 kept it in clear


class LoginFailed(Exception):
    """The homeserver refused the credentials (the sync loop retries with backoff and reports it)."""


def restore(client: AsyncClient, user_id: str, device: str, token: str) -> None:
    """nio's `restore_login` without its crypto store loading: with matrix-nio's e2e extra installed it loads
    a store at once and refuses an empty device id (a token from the settings, whose device whoami tells).
    The encrypting client loads its own store once the device is claimed (`adapters/matrix/e2e/`)."""
    client.user_id, client.device_id, client.access_token = user_id, device, token


async def login(client: AsyncClient, settings: MatrixSettings, state: MatrixState, box: SecretBox) -> None:
    """Reuse the stored device and token; log in with the password only when they no longer work."""
    user_id = client.user_id or client.user
    stored = await asyncio.to_thread(state.items, "session:")
    device = stored.get("device_id", "")
    kept = box.open(stored[SEALED]) if stored.get(SEALED) else stored.get(CLEAR)
    token = settings.access_token or kept
    if token:
        restore(client, user_id, device, token)
        who = await client.whoami()
        if isinstance(who, WhoamiResponse):
            device = who.device_id or device
            client.device_id = device
        elif settings.password and not settings.access_token:
            token = None  # the stored token was revoked: log in again on the same device
        else:
            raise LoginFailed(f"access token refused: {getattr(who, 'status_code', '?')}")
    if not token:
        if not settings.password:
            raise LoginFailed("no usable credentials")
        client.device_id = device or None
        response = await client.login(settings.password, device_name="Cercle")
        if not isinstance(response, LoginResponse):
            raise LoginFailed(f"login refused: {getattr(response, 'status_code', '?')}")
        device, token = response.device_id, response.access_token
    values = {"session:device_id": device}
    if token != settings.access_token:  # a token from the settings is the operator's to keep, not the database's
        values[f"session:{SEALED}"] = box.seal(token)
    await asyncio.to_thread(state.put, values)
    if CLEAR in stored:
        await asyncio.to_thread(state.delete, f"session:{CLEAR}")


async def display_name(client: AsyncClient) -> str:
    """The bot's display name (its localpart when it has none): a message starting with it is for the bot."""
    user_id = client.user_id
    name = await client.get_displayname(user_id)
    localpart = user_id[1:].split(":", 1)[0]
    return (name.displayname if isinstance(name, ProfileGetDisplayNameResponse) else "") or localpart
