"""Logging in once and reusing the device: the token and device id live in the database."""

from __future__ import annotations

import asyncio

from nio import AsyncClient, LoginResponse, ProfileGetDisplayNameResponse, WhoamiResponse

from adapters.matrix.platform import MatrixSettings
from adapters.matrix.state import MatrixState


class LoginFailed(Exception):
    """The homeserver refused the credentials (the sync loop retries with backoff and reports it)."""


def restore(client: AsyncClient, user_id: str, device: str, token: str) -> None:
    """nio's `restore_login` without its crypto store loading: with matrix-nio's e2e extra installed it loads
    a store at once and refuses an empty device id (a token from the settings, whose device whoami tells).
    The encrypting client loads its own store once the device is claimed (`adapters/matrix/e2e/`)."""
    client.user_id, client.device_id, client.access_token = user_id, device, token


async def login(client: AsyncClient, settings: MatrixSettings, state: MatrixState) -> str:
    """Reuse the stored device and token; log in with the password only when they no longer work.
    Returns the bot's display name (its localpart when it has none)."""
    user_id = client.user_id or client.user
    stored = await asyncio.to_thread(state.items, "session:")
    device = stored.get("device_id", "")
    token = settings.access_token or stored.get("access_token")
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
    await asyncio.to_thread(state.put, {"session:device_id": device, "session:access_token": token})
    name = await client.get_displayname(user_id)
    localpart = user_id[1:].split(":", 1)[0]
    return (name.displayname if isinstance(name, ProfileGetDisplayNameResponse) else "") or localpart
