"""The outbox's Slack sender: `chat.postMessage` to channels, `conversations.open` first for people.

Exactly once (see `bot/outbox/worker.py`): each message carries the row's idempotency key in its message
metadata, and a row in doubt is first looked for in the conversation's recent history. A post is
never retried inside slack_sdk (a 5xx or a lost connection may follow a post that went through);
such an ending is reported as uncertain, so the next attempt looks before posting. Reads
(`conversations.open`, `conversations.history`, `pins.add`) keep the client's retry handlers. A 429
goes back to the outbox with Slack's `Retry-After`, so no worker sleeps on a rate limit. The
delivery worker keeps the metrics (sent, retried, rate limited), once per attempt.
"""

from __future__ import annotations

import logging
import time

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.platform import NAME
from adapters.slack.rendering import render
from bot.outbox import DeliveryError, Outgoing, OutgoingEdit

log = logging.getLogger(__name__)

PERMANENT_ERRORS = frozenset({"channel_not_found", "not_in_channel", "is_archived", "user_not_found",
                              "cannot_dm_bot", "user_disabled", "account_inactive", "invalid_auth",
                              "not_authed", "token_revoked", "msg_too_long", "invalid_blocks",
                              "restricted_action", "team_access_not_granted"})
DEFAULT_RETRY_AFTER = 1.0
METADATA_TYPE = "cercle_outbox"
NETWORK_ERRORS = (TimeoutError, OSError, aiohttp.ClientError)
LOOKUP_PAGE = 100  # messages per conversations.history page
LOOKUP_PAGES = 3  # at most this many pages: a row in doubt is recent, its message near the top
LOOKUP_MARGIN = 600.0  # seconds before the row was written (clocks differ)
LOOKUP_WINDOW = 86400.0  # without the row's creation time: the last day
CANNOT_LOOK = frozenset({"not_in_channel", "missing_scope"})  # history refused, though posting may work
# chat.update: the message is gone or can no longer be changed (retrying cannot help)
CANNOT_UPDATE = frozenset({"message_not_found", "cant_update_message", "edit_window_closed"})


def slack_error(exc: SlackApiError) -> str:
    """Slack's error code (`channel_not_found`...), or "" when the answer was not Slack's JSON."""
    data = exc.response.data if exc.response is not None else None
    return str(data.get("error") or "") if isinstance(data, dict) else ""


def rate_limit_wait(exc: SlackApiError) -> float | None:
    """Seconds Slack asks to wait when it refused for a rate limit (its `Retry-After`), else None."""
    response = exc.response
    if not ((response is not None and response.status_code == 429) or slack_error(exc) == "ratelimited"):
        return None
    raw = (response.headers or {}).get("Retry-After") or (response.headers or {}).get("retry-after")
    try:
        return max(0.0, float(raw)) if raw is not None else DEFAULT_RETRY_AFTER
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER


def delivery_error(exc: SlackApiError) -> DeliveryError:
    """How the outbox should treat a Slack refusal: 429 waits, 5xx may have posted, some codes are final."""
    response = exc.response
    error = slack_error(exc)
    status = response.status_code if response is not None else 0
    retry_after = rate_limit_wait(exc)
    if retry_after is not None:
        return DeliveryError(f"slack rate limited (retry after {retry_after:g} s)", retry_after=retry_after)
    if status >= 500:
        return DeliveryError(f"slack: {error or f'HTTP {status}'}", uncertain=True)
    if error in PERMANENT_ERRORS:
        return DeliveryError(f"slack: {error}", permanent=True)
    return DeliveryError(f"slack: {error or f'HTTP {status}'}")


def without_retries(client: AsyncWebClient) -> AsyncWebClient:
    """The same client (token, URL, session, timeout) with no retry handler: for posting."""
    return AsyncWebClient(token=client.token, base_url=client.base_url, timeout=client.timeout, ssl=client.ssl,
                          proxy=client.proxy, session=client.session, headers=dict(client.headers),
                          trust_env_in_session=client.trust_env_in_session, retry_handlers=[])


def lookup_oldest(item: Outgoing, now: float | None = None) -> str:
    """The `oldest` bound of the history lookup, as a Slack ts."""
    if item.created_at is not None:
        return f"{item.created_at.timestamp() - LOOKUP_MARGIN:.6f}"
    return f"{(time.time() if now is None else now) - LOOKUP_WINDOW:.6f}"


class SlackSender:
    platform: str = NAME

    def __init__(self, client: AsyncWebClient, *, poster: AsyncWebClient | None = None) -> None:
        self.client = client  # reads, with the client's retry handlers
        self.poster = poster or without_retries(client)
        self._dm_channels: dict[str, str] = {}

    async def _dm_channel(self, user_id: str) -> str:
        """The direct conversation with a person (nothing is posted yet: a failure here is not in doubt)."""
        channel = self._dm_channels.get(user_id)
        if channel is None:
            try:
                response = await self.client.conversations_open(users=user_id)
            except SlackApiError as exc:
                raise delivery_error(exc) from None
            except NETWORK_ERRORS as exc:
                raise DeliveryError(f"slack unreachable: {type(exc).__name__}") from None
            channel = str(response["channel"]["id"])
            self._dm_channels[user_id] = channel
        return channel

    async def send(self, item: Outgoing) -> str:
        doubt = item.in_doubt  # until the history said the message is not there
        try:
            channel = item.target_id if item.target_kind == "channel" else await self._dm_channel(item.target_id)
            ts = await self._find(channel, item) if item.in_doubt else None
            doubt = False
            if ts is None:
                ts = await self._post(channel, item)
        except DeliveryError as error:
            if doubt and not error.uncertain:  # an earlier attempt may still have posted it
                raise DeliveryError(error.reason, retry_after=error.retry_after, permanent=error.permanent,
                                    uncertain=True) from None
            raise
        if item.message.pin and ts:
            await self._pin(channel, ts)
        return ts

    async def update(self, edit: OutgoingEdit) -> None:
        """Replace a posted message's content in place (`chat.update`, Tier 3). Idempotent: it sets the
        content, so a retry after a lost answer changes nothing more."""
        rendered = render(edit.message)
        try:
            channel = edit.target_id if edit.target_kind == "channel" else await self._dm_channel(edit.target_id)
            await self.poster.chat_update(channel=channel, ts=edit.message_id, text=rendered.text,
                                          blocks=rendered.blocks)
        except SlackApiError as exc:
            if slack_error(exc) in CANNOT_UPDATE:
                raise DeliveryError(f"slack: {slack_error(exc)}", permanent=True) from None
            raise delivery_error(exc) from None
        except NETWORK_ERRORS as exc:
            raise DeliveryError(f"slack unreachable: {type(exc).__name__}") from None

    async def _post(self, channel: str, item: Outgoing) -> str:
        rendered = render(item.message)
        try:
            response = await self.poster.chat_postMessage(
                channel=channel, text=rendered.text, blocks=rendered.blocks, unfurl_links=False,
                metadata={"event_type": METADATA_TYPE, "event_payload": {"key": item.idempotency_key}})
        except SlackApiError as exc:
            raise delivery_error(exc) from None
        except NETWORK_ERRORS as exc:  # the request may have reached Slack
            raise DeliveryError(f"slack unreachable: {type(exc).__name__}", uncertain=True) from None
        return str(response.get("ts") or "")

    async def _find(self, channel: str, item: Outgoing) -> str | None:
        """The ts of a message already posted for this row, from the conversation's recent history.
        Without an answer the row stays in doubt: never post without having looked."""
        cursor = ""
        try:
            for _page in range(LOOKUP_PAGES):
                response = await self.client.conversations_history(
                    channel=channel, limit=LOOKUP_PAGE, oldest=lookup_oldest(item), include_all_metadata=True,
                    cursor=cursor or None)
                for message in response.get("messages") or []:
                    metadata = message.get("metadata") or {}
                    if (metadata.get("event_type") == METADATA_TYPE
                            and (metadata.get("event_payload") or {}).get("key") == item.idempotency_key):
                        return str(message["ts"])
                cursor = str((response.get("response_metadata") or {}).get("next_cursor") or "")
                if not response.get("has_more") or not cursor:
                    return None
        except SlackApiError as exc:
            if slack_error(exc) in CANNOT_LOOK:  # a public channel the bot posts in without being a member
                log.warning("delivery %s: cannot read %s (%s); posting", item.id, channel, slack_error(exc))
                return None
            error = delivery_error(exc)
            raise DeliveryError(f"history lookup: {error.reason}", retry_after=error.retry_after,
                                permanent=error.permanent, uncertain=True) from None
        except NETWORK_ERRORS as exc:
            raise DeliveryError(f"history lookup: {type(exc).__name__}", uncertain=True) from None
        log.warning("delivery %s: not among the last %d messages of %s; posting", item.id,
                    LOOKUP_PAGE * LOOKUP_PAGES, channel)
        return None

    async def _pin(self, channel: str, ts: str) -> None:
        """Pin a posted message; a refusal is logged, not retried (the message itself went out)."""
        try:
            await self.client.pins_add(channel=channel, timestamp=ts)
        except SlackApiError as exc:
            error = slack_error(exc)
            if error != "already_pinned":
                log.warning("could not pin message %s: %s", ts, error)
        except NETWORK_ERRORS as exc:
            log.warning("could not pin message %s: %s", ts, type(exc).__name__)

