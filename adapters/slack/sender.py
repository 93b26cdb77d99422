"""The outbox's Slack sender: `chat.postMessage` to channels, `conversations.open` first for people.

Connection errors and 5xx are retried a little by slack_sdk's retry handlers; a 429 goes back to
the outbox with Slack's `Retry-After`, so no worker sleeps on a rate limit.
"""

from __future__ import annotations

import logging

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.rendering import render
from bot import metrics
from bot.delivery import DeliveryError, Outgoing

log = logging.getLogger(__name__)

PERMANENT_ERRORS = frozenset({"channel_not_found", "not_in_channel", "is_archived", "user_not_found",
                              "cannot_dm_bot", "user_disabled", "account_inactive", "invalid_auth",
                              "not_authed", "token_revoked", "msg_too_long", "invalid_blocks",
                              "restricted_action", "team_access_not_granted"})
DEFAULT_RETRY_AFTER = 1.0


def slack_error(exc: SlackApiError) -> str:
    """Slack's error code (`channel_not_found`...), or "" when the answer was not Slack's JSON."""
    data = exc.response.data if exc.response is not None else None
    return str(data.get("error") or "") if isinstance(data, dict) else ""


def delivery_error(exc: SlackApiError) -> DeliveryError:
    """How the outbox should treat a Slack refusal."""
    response = exc.response
    error = slack_error(exc)
    status = response.status_code if response is not None else 0
    if status == 429 or error == "ratelimited":
        metrics.RATE_LIMITED.labels("slack").inc()
        raw = (response.headers or {}).get("Retry-After") or (response.headers or {}).get("retry-after")
        try:
            retry_after = max(0.0, float(raw)) if raw is not None else DEFAULT_RETRY_AFTER
        except (TypeError, ValueError):
            retry_after = DEFAULT_RETRY_AFTER
        return DeliveryError(f"slack rate limited (retry after {retry_after:g} s)", retry_after=retry_after)
    if error in PERMANENT_ERRORS:
        return DeliveryError(f"slack: {error}", permanent=True)
    return DeliveryError(f"slack: {error or f'HTTP {status}'}")


class SlackSender:
    platform: str = "slack"

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client
        self._dm_channels: dict[str, str] = {}

    async def _dm_channel(self, user_id: str) -> str:
        channel = self._dm_channels.get(user_id)
        if channel is None:
            response = await self.client.conversations_open(users=user_id)
            channel = str(response["channel"]["id"])
            self._dm_channels[user_id] = channel
        return channel

    async def send(self, item: Outgoing) -> str:
        rendered = render(item.message)
        try:
            channel = item.target_id if item.target_kind == "channel" else await self._dm_channel(item.target_id)
            response = await self.client.chat_postMessage(channel=channel, text=rendered.text,
                                                          blocks=rendered.blocks, unfurl_links=False)
        except SlackApiError as exc:
            error = delivery_error(exc)
            metrics.DELIVERIES.labels("slack", "permanent" if error.permanent else "retry").inc()
            raise error from None
        except (TimeoutError, OSError, aiohttp.ClientError) as exc:
            metrics.DELIVERIES.labels("slack", "retry").inc()
            raise DeliveryError(f"slack unreachable: {type(exc).__name__}") from None
        ts = str(response.get("ts") or "")
        if item.message.pin and ts:
            await self._pin(str(response.get("channel") or channel), ts)
        metrics.DELIVERIES.labels("slack", "sent").inc()
        return ts

    async def _pin(self, channel: str, ts: str) -> None:
        """Pin a posted message; a refusal is logged, not retried (the message itself went out)."""
        try:
            await self.client.pins_add(channel=channel, timestamp=ts)
        except SlackApiError as exc:
            error = slack_error(exc)
            if error != "already_pinned":
                log.warning("could not pin message %s: %s", ts, error)
        except (TimeoutError, OSError, aiohttp.ClientError) as exc:
            log.warning("could not pin message %s: %s", ts, type(exc).__name__)
