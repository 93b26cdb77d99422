"""The slash command and the events (mentions of the bot, direct messages), on the Bolt app.

The slash command is acknowledged before any database work; the reply goes through the
`response_url`. Every request carries a stable event key (the trigger id, the event id), so a
retried delivery from Slack has no second effect.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext

from adapters.slack.conversation import Conversation, Where, is_direct
from adapters.slack.escaping import read_command_text
from adapters.slack.grid import enterprise_of

log = logging.getLogger(__name__)


def register(bolt: AsyncApp, conversation: Conversation, command: str) -> None:
    """Attach the slash command and event listeners to `bolt`."""

    async def on_command(ack: AsyncAck, body: dict[str, Any]) -> None:
        async with conversation.busy():
            await ack()
            await answer_command(body)

    async def answer_command(body: dict[str, Any]) -> None:
        where = Where(team=str(body.get("team_id") or ""), channel_id=str(body.get("channel_id") or ""),
                      channel_name=str(body.get("channel_name") or ""),
                      direct=is_direct(str(body.get("channel_id") or ""), str(body.get("channel_name") or "")),
                      enterprise=enterprise_of(body))
        request = await conversation.request(where=where, user_id=str(body["user_id"]),
                                             user_name=str(body.get("user_name") or ""),
                                             text=read_command_text(str(body.get("text") or "")),
                                             event_key=f"cmd:{body['trigger_id']}" if body.get("trigger_id") else None,
                                             origin="slash")
        await conversation.answer(request, where, str(body.get("response_url") or "") or None)

    bolt.command(command)(on_command)

    async def on_text(body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext) -> None:
        text = strip_mention(read_command_text(str(event.get("text") or "")), context.bot_user_id, command)
        channel = str(event.get("channel") or "")
        direct = event.get("channel_type") == "im" or is_direct(channel)
        where = Where(team=str(body.get("team_id") or event.get("team") or ""), channel_id=channel, direct=direct,
                      thread=event.get("thread_ts"), enterprise=enterprise_of(body))
        request = await conversation.request(where=where, user_id=str(event["user"]), user_name="", text=text,
                                             event_key=_event_key(body, event), origin="message")
        await conversation.answer(request, where)

    async def on_mention(body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext) -> None:
        if event.get("user") and not event.get("bot_id"):
            async with conversation.busy():
                await on_text(body, event, context)

    async def on_message(body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext) -> None:
        # Only people's own messages in their direct conversation with the bot; edits, joins and bots
        # (the bot's own replies included) are not commands.
        if (event.get("channel_type") == "im" and event.get("user") and not event.get("subtype")
                and not event.get("bot_id")):
            async with conversation.busy():
                await on_text(body, event, context)

    bolt.event("app_mention")(on_mention)
    bolt.event("message")(on_message)


def _event_key(body: dict[str, Any], event: dict[str, Any]) -> str | None:
    """Slack's event id; for a payload without one, the message's channel and timestamp."""
    if body.get("event_id"):
        return f"event:{body['event_id']}"
    if event.get("ts"):
        return f"message:{event.get('channel')}:{event['ts']}"
    return None


def strip_mention(text: str, bot_user_id: str | None, command: str) -> str:
    """The command in "@Cercle community list" (or "/cercle community list" typed in a message)."""
    text = text.strip()
    if bot_user_id:
        text = re.sub(r"^<@" + re.escape(bot_user_id) + r"(\|[^>]*)?>[\s:,]*", "", text)
    if text.split(" ", 1)[0].lower() == command:
        text = text[len(command):]
    return text.strip()
