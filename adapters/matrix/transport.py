"""Sending to the homeserver, with its answers mapped onto the outbox's retry rules.

A 429 becomes `DeliveryError(retry_after=...)` (bounded), a refusal that retrying cannot fix
(M_FORBIDDEN, unknown room) a permanent one. A send that ended without a clear answer (timeout,
lost connection, 5xx) is `uncertain`: the outbox records it in doubt. The resend is safe anyway,
as it reuses the transaction id, which the homeserver deduplicates.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import ClientError
from nio import AsyncClient, AsyncClientConfig, ErrorResponse, LocalProtocolError, RoomSendResponse

from adapters.matrix.e2e.claim import DeviceTakenOver
from bot.outbox import DeliveryError

MAX_RETRY_AFTER = 300.0
PERMANENT_CODES = {"M_FORBIDDEN", "M_NOT_FOUND", "M_UNKNOWN_ROOM", "M_BAD_JSON", "M_NOT_JSON", "M_TOO_LARGE",
                   "M_INVALID_PARAM"}
NETWORK_ERRORS = (ClientError, asyncio.TimeoutError, TimeoutError, OSError)


def client_config() -> AsyncClientConfig:
    """No silent sleeping on 429 and no endless retries inside matrix-nio: the outbox and the sync loop
    decide when to retry, and /healthz sees the failure."""
    return AsyncClientConfig(max_limit_exceeded=0, max_timeouts=0, store_sync_tokens=False,
                             encryption_enabled=False)


def delivery_error(response: ErrorResponse, what: str) -> DeliveryError:
    code = str(response.status_code or "")
    if code == "M_LIMIT_EXCEEDED" or code == "429":  # counted by the delivery worker, the one owner of the figure
        return DeliveryError(f"{what}: rate limited", retry_after=retry_after(response))
    status = getattr(getattr(response, "transport_response", None), "status", None) or 0
    reason = f"{what}: {code or f'HTTP {status}'} {response.message or ''}".strip()
    if status >= 500:
        return DeliveryError(reason, uncertain=True)
    return DeliveryError(reason, permanent=code in PERMANENT_CODES)


def retry_after(response: ErrorResponse) -> float:
    """The homeserver's wait in seconds (5 s when it gave none), bounded."""
    wait = (getattr(response, "retry_after_ms", None) or 5000) / 1000
    return min(MAX_RETRY_AFTER, max(0.1, wait))


async def send_event(client: AsyncClient, room_id: str, event_type: str, content: dict[str, Any],
                     txn_id: str) -> str:
    """Send one event; the transaction id makes a resend after a crash a no-op on the homeserver."""
    if client.olm is not None and room_id not in client.rooms:  # an encrypting client knows the rooms it is in
        raise DeliveryError("send: the bot is not in this room", permanent=True)
    try:
        response = await client.room_send(room_id, event_type, content, tx_id=txn_id)
    except NETWORK_ERRORS as exc:
        raise DeliveryError(f"homeserver unreachable: {type(exc).__name__}", uncertain=True) from None
    except LocalProtocolError as exc:  # nio could not prepare the encryption (members, keys): try again later
        raise DeliveryError(f"send: {exc}") from None
    except DeviceTakenOver:  # a new leader holds the device: it delivers what the outbox keeps for it
        raise DeliveryError("send: another replica holds the bot's device now") from None
    if isinstance(response, RoomSendResponse):
        return str(response.event_id)
    if isinstance(response, ErrorResponse):
        raise delivery_error(response, "send")
    raise DeliveryError(f"send: unexpected answer {type(response).__name__}")
