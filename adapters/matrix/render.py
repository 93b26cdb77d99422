"""The neutral message model as a Matrix `m.notice`: an HTML `formatted_body` and a plain `body`.

Everything in a `Message` is plain text, so every piece is escaped here: user input can never
inject markup or pills. Matrix has no buttons: each button becomes a hint, "react with ✅ to …"
when it has a reaction, otherwise "type `!cercle …`" (a private button: in the direct room with the bot).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from html import escape
from typing import Any

from bot.i18n import _
from bot.i18n.typography import colon
from bot.messages import Actions, Button, Context, Message, Section

GREY = "#808080"
MAX_EVENT_BYTES = 60_000  # Matrix refuses events over 64 KiB; leave room for the envelope
EDIT_BYTES = MAX_EVENT_BYTES // 2 - 200  # an edit carries its text twice (the new content, the fallback)


def normalise_reaction(key: str) -> str:
    """Clients differ on the emoji variation selector (✅ vs ✅︎/✅️): compare without it."""
    return key.replace("\ufe0f", "").replace("\ufe0e", "").strip()


def reaction_commands(message: Message) -> dict[str, str]:
    """Normalised reaction key -> the command its button runs (never a private one: a reaction is public)."""
    return {normalise_reaction(b.reaction): b.command for b in message.buttons()
            if b.reaction and b.command and not b.private}


def _form_command(button: Button) -> str:
    """A form's command template with each field shown as a placeholder to type."""
    assert button.form is not None
    placeholders = {f.name: f'"<{f.label}>"' for f in button.form.fields}
    try:
        return button.form.command.format(**placeholders)
    except (KeyError, IndexError, ValueError):
        return button.form.command


def _hint(button: Button, prefix: str) -> tuple[str, str] | None:
    """(plain, html) of one button's hint, or None when it does nothing on Matrix. A private button (an
    anonymous vote, a nomination) is typed in the person's direct room with the bot, never in this room."""
    if button.reaction and button.command and not button.private:
        plain = _("React with {emoji} to: {label}", emoji=button.reaction, label=button.label)
        return plain, escape(plain)
    command = button.command or (_form_command(button) if button.form else "")
    if not command:
        return None
    typed = f"{prefix} {command}"
    if button.private:
        template = _("In your direct room with Cercle (not here), type {command} to: {label}",
                     command="\u0000", label=button.label)
    else:
        template = _("Type {command} to: {label}", command="\u0000", label=button.label)
    plain = template.replace("\u0000", f"`{typed}`")
    return plain, escape(template).replace("\u0000", f"<code>{escape(typed)}</code>")


def _lines(text: str) -> str:
    return "<br>".join(escape(line) for line in text.split("\n"))


@dataclass(frozen=True)
class Rendered:
    plain: str
    html: str

    def content(self, msgtype: str = "m.notice") -> dict[str, Any]:
        return {"msgtype": msgtype, "body": self.plain, "format": "org.matrix.custom.html",
                "formatted_body": self.html}


def render(message: Message, prefix: str) -> Rendered:
    """Render in the current language (the caller sets it for the hints)."""
    plain: list[str] = []
    html: list[str] = []
    sep = colon(message.locale)
    for block in message.blocks:
        if isinstance(block, Section):
            if block.title:
                plain.append(block.title)
                html.append(f"<b>{escape(block.title)}</b>")
            if block.text:
                plain.append(block.text)
                html.append(_lines(block.text))
            for f in block.fields:
                plain.append(f"{f.label}{sep}{f.value}")
                html.append(f"<b>{escape(f.label)}</b>{escape(sep)}{_lines(f.value)}")
            if block.lines:
                plain.extend(f"• {line}" for line in block.lines)
                html.append("<ul>" + "".join(f"<li>{_lines(line)}</li>" for line in block.lines) + "</ul>")
        elif isinstance(block, Context):
            plain.append(block.text)
            html.append(f'<font color="{GREY}" data-mx-color="{GREY}"><sub>{_lines(block.text)}</sub></font>')
        elif isinstance(block, Actions):
            hints = [h for h in (_hint(b, prefix) for b in block.buttons) if h]
            if hints:
                plain.extend(f"→ {p}" for p, _h in hints)
                html.append("<ul>" + "".join(f"<li>{h}</li>" for _p, h in hints) + "</ul>")
    if not plain:
        plain, html = [message.summary], [_lines(message.summary)]
    joined = "".join(part if part.startswith("<ul>") else part + "<br>" for part in html)
    if joined.endswith("<br>"):
        joined = joined[: -len("<br>")]
    return Rendered("\n".join(plain), joined)


def fit(content: dict[str, Any], limit: int = MAX_EVENT_BYTES) -> dict[str, Any]:
    """Keep an event under the homeserver's size limit: drop the HTML, then shorten the text."""
    def size(c: dict[str, Any]) -> int:
        return len(json.dumps(c, ensure_ascii=False).encode())

    if size(content) <= limit:
        return content
    plain = {"msgtype": content["msgtype"], "body": content["body"]}
    while size(plain) > limit:
        plain["body"] = plain["body"][: len(plain["body"]) * 3 // 4] + "\n…"
    return plain


def replacement(new: dict[str, Any], event_id: str) -> dict[str, Any]:
    """An edit of the bot's event `event_id` (`m.replace`): `new` (a rendered content) as `m.new_content`,
    and the spec's fallback for clients without edits, "* " and the new text. The edit itself mentions
    nobody (`m.mentions` empty): an update never rings again; the new content keeps the post's mentions.
    `new` is fitted to half an event (`fit(..., EDIT_BYTES)`): the text is there twice."""
    content: dict[str, Any] = {"msgtype": new["msgtype"], "body": f"* {new['body']}", "m.new_content": new,
                               "m.mentions": {}, "m.relates_to": {"rel_type": "m.replace", "event_id": event_id}}
    if "formatted_body" in new:
        content["format"] = new["format"]
        content["formatted_body"] = f"* {new['formatted_body']}"
    return content
