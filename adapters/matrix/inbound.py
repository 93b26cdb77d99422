"""From a Matrix message to the command text the core reads.

Pills (`<a href="https://matrix.to/#/@alice:server">Alice</a>`) become the mxid they point at, the
quoted reply fallback is dropped, and the command is recognised by the prefix (`!cercle`) or by a
first mention of the bot. In a direct room with the bot the prefix is optional.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from html.parser import HTMLParser
from urllib.parse import unquote

_MATRIX_TO = re.compile(r"^https://matrix\.to/#/([@!#][^?]+)")
MXID = re.compile(r"@[a-z0-9._=\-/+]+:[A-Za-z0-9.\-]+(?::\d+)?")
ALIAS = re.compile(r"(?<![\w!#])#[^\s:#\"“”«»]+:[A-Za-z0-9.\-]+(?::\d+)?")


class _PillText(HTMLParser):
    """Text of an HTML body, with pills replaced by their Matrix ids."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._pill: str | None = None
        self._skip = 0  # inside <mx-reply>

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "mx-reply":
            self._skip += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag == "a":
            match = _MATRIX_TO.match(unquote(dict(attrs).get("href") or ""))
            if match:
                self._pill = match.group(1)

    def handle_endtag(self, tag: str) -> None:
        if tag == "mx-reply":
            self._skip = max(0, self._skip - 1)
        elif tag in ("p", "div", "li"):
            self.parts.append("\n")
        elif tag == "a" and self._pill is not None:
            if not self._skip:
                self.parts.append(self._pill)
            self._pill = None

    def handle_data(self, data: str) -> None:
        if self._skip or self._pill is not None:
            return
        self.parts.append(data)


def html_to_text(html: str) -> str:
    parser = _PillText()
    parser.feed(html)
    parser.close()
    return "".join(parser.parts)


def message_text(content: Mapping[str, object]) -> str:
    """The text of a message event as the user meant it: pills as ids, no reply fallback."""
    formatted = content.get("formatted_body")
    if content.get("format") == "org.matrix.custom.html" and isinstance(formatted, str):
        return html_to_text(formatted).strip()
    body = str(content.get("body") or "")
    relates = content.get("m.relates_to")
    if isinstance(relates, dict) and "m.in_reply_to" in relates:
        lines = body.split("\n")
        while lines and lines[0].startswith(">"):
            lines.pop(0)
        body = "\n".join(lines)
    return body.strip()


def command_text(text: str, *, prefix: str, bot_id: str, bot_name: str, direct: bool) -> str | None:
    """The command after the prefix or the bot's mention; None when the message is not for the bot."""
    lowered = text.lower()
    for lead, separators in ((prefix, " \t\n"), (bot_id, " \t\n:,"), (bot_name, ":,")):
        if not lead or not lowered.startswith(lead.lower()):
            continue
        rest = text[len(lead):]
        if rest and rest[0] not in separators:
            continue
        if not rest and lead == bot_name:
            continue
        return rest.lstrip(":, \t\n")
    return text if direct else None


def thread_root(content: dict[str, object]) -> str | None:
    relates = content.get("m.relates_to")
    if isinstance(relates, dict) and relates.get("rel_type") == "m.thread":
        root = relates.get("event_id")
        return str(root) if root else None
    return None
