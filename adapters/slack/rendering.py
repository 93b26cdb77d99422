"""Block Kit for the neutral message model (`bot.messages`).

Every string is escaped (user input can never become a mention, a link or formatting) and cut or
split to Slack's limits: 3000 characters a text, 10 fields a section, 25 buttons an actions block,
50 blocks a message.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from adapters.slack.escaping import escape_mrkdwn, truncate_escaped
from adapters.slack.forms import encode_form
from adapters.slack.times import with_date_tokens
from bot.i18n import _
from bot.messages import Actions, Block, Button, Confirm, Context, Field, Message, Section

log = logging.getLogger(__name__)

MAX_BLOCKS = 50
MAX_TEXT = 3000
MAX_FIELD = 2000
MAX_FIELDS = 10
MAX_BUTTONS = 25
MAX_FALLBACK = 3000
COMMAND_ACTION = "cercle:cmd:"
FORM_ACTION = "cercle:form:"


@dataclass(frozen=True)
class Rendered:
    """What `chat.postMessage`, `chat.postEphemeral` and `response_url` take."""

    text: str
    blocks: list[dict[str, Any]]


def mrkdwn(text: str, limit: int = MAX_TEXT) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": truncate_escaped(text, limit) or " ", "verbatim": True}


def plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": truncate_escaped(text, limit, mrkdwn=False) or " ", "emoji": True}


def _bold(text: str, limit: int) -> str:
    return "*" + truncate_escaped(text, limit - 2) + "*"


def _sections_of(section: Section) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    head = []
    if section.title:
        head.append(_bold(" ".join(section.title.split()), 500))
    if section.text:
        head.append(truncate_escaped(section.text, MAX_TEXT - 510))
    # Bulleted lines are packed into as few sections as the 3000-character limit allows.
    chunk = "\n".join(head)
    for line in section.lines:
        bullet = "• " + truncate_escaped(line.replace("\n", " "), MAX_TEXT - 10)
        if chunk and len(chunk) + 1 + len(bullet) > MAX_TEXT:
            out.append({"type": "section", "text": {"type": "mrkdwn", "text": chunk, "verbatim": True}})
            chunk = bullet
        else:
            chunk = f"{chunk}\n{bullet}" if chunk else bullet
    fields = [_field(f) for f in section.fields]
    first_fields, rest = fields[:MAX_FIELDS], fields[MAX_FIELDS:]
    if chunk or first_fields:
        block: dict[str, Any] = {"type": "section"}
        if chunk:
            block["text"] = {"type": "mrkdwn", "text": chunk, "verbatim": True}
        if first_fields:
            block["fields"] = first_fields
        out.append(block)
    while rest:
        out.append({"type": "section", "fields": rest[:MAX_FIELDS]})
        rest = rest[MAX_FIELDS:]
    return out


def _field(field: Field) -> dict[str, Any]:
    label = _bold(field.label, 200)
    return {"type": "mrkdwn", "text": label + "\n" + truncate_escaped(field.value, MAX_FIELD - len(label) - 1),
            "verbatim": True}


def _confirm(confirm: Confirm) -> dict[str, Any]:
    return {"title": plain(confirm.title, 100), "text": plain(confirm.text, 300),
            "confirm": plain(confirm.confirm, 30), "deny": plain(confirm.deny, 30)}


def _button(button: Button, index: int) -> dict[str, Any] | None:
    element: dict[str, Any] = {"type": "button", "text": plain(button.label, 75)}
    if button.form is not None:
        value = encode_form(button.form)
        if value is None:
            log.warning("a form button was left out: its form is too long for Slack")
            return None
        element["action_id"], element["value"] = f"{FORM_ACTION}{index}", value
    elif button.command:
        if len(button.command) > 2000:
            log.warning("a button was left out: its command is too long for Slack")
            return None
        element["action_id"], element["value"] = f"{COMMAND_ACTION}{index}", button.command
    else:
        return None
    if button.style in ("primary", "danger"):
        element["style"] = button.style
    if button.confirm is not None:
        element["confirm"] = _confirm(button.confirm)
    return element


def _blocks_of(block: Block, counter: list[int]) -> list[dict[str, Any]]:
    if isinstance(block, Section):
        return _sections_of(block)
    if isinstance(block, Context):
        return [{"type": "context", "elements": [mrkdwn(block.text)]}] if block.text else []
    if isinstance(block, Actions):
        elements = []
        for button in block.buttons:
            counter[0] += 1
            element = _button(button, counter[0])
            if element is not None:
                elements.append(element)
        return [{"type": "actions", "elements": elements[i:i + MAX_BUTTONS]}
                for i in range(0, len(elements), MAX_BUTTONS)]
    return []


def render(message: Message) -> Rendered:
    """The message as Block Kit, within Slack's limits."""
    blocks: list[dict[str, Any]] = []
    counter = [0]
    for block in message.blocks:
        blocks.extend(_blocks_of(block, counter))
    if len(blocks) > MAX_BLOCKS:
        blocks = blocks[:MAX_BLOCKS - 1]
        blocks.append({"type": "context", "elements": [mrkdwn(_("(Shortened: the rest did not fit in one Slack "
                                                                "message.)"))]})
    with_date_tokens(blocks, message.moments)  # times in each reader's zone
    summary = message.summary or message.plain_text()
    return Rendered(text=truncate_escaped(summary, MAX_FALLBACK, mrkdwn=False), blocks=blocks)


__all__ = ["COMMAND_ACTION", "FORM_ACTION", "Rendered", "escape_mrkdwn", "render"]
