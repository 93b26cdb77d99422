"""Shortcuts and bare slash commands open the forms commands declare (`bot.forms`).

Global shortcuts (the ⚡ menu) open a command's form; message shortcuts (a message's ⋮ menu) open one
filled from the message: "Share to a community" with its permalink and text, "Propose as an idea" with
its text. `/cercle crisis declare` typed without arguments opens the same form as the shortcut.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.command_forms import open_form
from adapters.slack.conversation import NETWORK_ERRORS, Conversation, Where, is_direct
from adapters.slack.escaping import read_command_text
from adapters.slack.grid import enterprise_of
from bot import forms

log = logging.getLogger(__name__)

# callback_id (deploy/slack-manifest.yml) -> the command whose form it opens
GLOBAL_SHORTCUTS = {"cercle_crisis_declare": "crisis declare", "cercle_consult_open": "consult open",
                    "cercle_position_open": "position open", "cercle_nominate": "nominate",
                    "cercle_crisis_ask": "crisis ask"}
MESSAGE_SHORTCUTS = {"cercle_share_message": "share", "cercle_idea_message": "idea"}
TITLE_LIMIT = 300  # a shared resource's title (the share command's own limit)


def _first_line(text: str, limit: int) -> str:
    line = next((x.strip() for x in text.splitlines() if x.strip()), "")
    return line if len(line) <= limit else line[:limit - 1].rstrip() + "…"


async def _message_prefill(client: AsyncWebClient, command: str, channel: str,
                           message: dict[str, Any]) -> dict[str, str]:
    """What a message shortcut fills in: the message's text (its links as addresses), and for a share
    its permalink (empty when Slack does not give it: the person types the address)."""
    text = read_command_text(str(message.get("text") or "")).strip()
    if command == "idea":
        return {"text": text}
    url = ""
    try:
        url = str((await client.chat_getPermalink(channel=channel, message_ts=str(message.get("ts") or "")))
                  ["permalink"])
    except (*NETWORK_ERRORS, KeyError, TypeError) as exc:
        log.warning("no permalink for a shared message: %s", type(exc).__name__)
    return {"url": url, "title": _first_line(text, TITLE_LIMIT)}


def register(bolt: AsyncApp, conversation: Conversation, command: str) -> None:
    """Attach the shortcuts and the bare-command matcher (before the slash command's own listener)."""
    core = conversation.core
    callbacks = {**GLOBAL_SHORTCUTS, **MESSAGE_SHORTCUTS}

    async def on_shortcut(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        async with conversation.busy():
            await ack()
            name = callbacks.get(str(body.get("callback_id") or ""))
            spec = forms.find(core, name) if name else None
            if spec is None:
                log.warning("a shortcut for no known form was ignored")
                return
            user = body.get("user") or {}
            team = str((body.get("team") or {}).get("id") or user.get("team_id") or "")
            channel = body.get("channel") or {}
            channel_id, channel_name = str(channel.get("id") or ""), str(channel.get("name") or "")
            where = Where(team=team, channel_id=channel_id, channel_name=channel_name,
                          direct=is_direct(channel_id, channel_name), enterprise=enterprise_of(body))
            prefill = None
            if body.get("type") == "message_action":
                prefill = await _message_prefill(client, spec.command, channel_id, body.get("message") or {})
            await open_form(conversation, client, spec, trigger_id=str(body.get("trigger_id") or ""), where=where,
                            user_id=str(user.get("id") or ""), user_name=str(user.get("username") or ""),
                            prefill=prefill)

    pattern = re.compile("^(" + "|".join(re.escape(c) for c in callbacks) + ")$")
    bolt.shortcut(pattern)(on_shortcut)

    def bare_form(body: dict[str, Any]) -> forms.FormSpec | None:
        text = read_command_text(str(body.get("text") or "")).strip()
        return forms.with_form(core, text) if text and body.get("trigger_id") else None

    async def is_bare_form(body: dict[str, Any]) -> bool:
        return bare_form(body) is not None

    async def on_bare_command(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        async with conversation.busy():
            await ack()
            spec = bare_form(body)
            if spec is None:
                return
            channel_id, channel_name = str(body.get("channel_id") or ""), str(body.get("channel_name") or "")
            where = Where(team=str(body.get("team_id") or ""), channel_id=channel_id, channel_name=channel_name,
                          direct=is_direct(channel_id, channel_name), enterprise=enterprise_of(body))
            await open_form(conversation, client, spec, trigger_id=str(body["trigger_id"]), where=where,
                            user_id=str(body.get("user_id") or ""), user_name=str(body.get("user_name") or ""))

    matcher: Callable[..., Any] = is_bare_form
    bolt.command(command, matchers=[matcher])(on_bare_command)
