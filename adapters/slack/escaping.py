"""Slack text in and out: read what Slack escaped, escape what users wrote.

Slack HTML-escapes `&`, `<` and `>` in command and message text but keeps its own tokens
(`<@U123|name>`, `<#C123|name>`, `<https://...|label>`) raw. Going out, every user-derived
string is escaped so nobody can inject `<!channel>`, a mention or a link, and mrkdwn
formatting characters are neutralised (Slack has no backslash escape for them).
"""

from __future__ import annotations

import re

_TOKEN = re.compile(r"<([^<>]*)>")
# Slack renders the fallback of an invalid date token as plain text: a way to show `*` and friends
# without them formatting the text around them.
_LITERAL = "<!date^00000000^{{_}}|{char}>"
_FORMATTING = "*_~`"


def _entity_unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def read_command_text(raw: str) -> str:
    """The command line a person typed, from Slack's escaped text.

    Mention and channel tokens stay as they are (the core grammar reads them); links become their
    URL, `<!here>`-like specials their label; everything else is unescaped.
    """
    out: list[str] = []
    pos = 0
    for match in _TOKEN.finditer(raw):
        out.append(_entity_unescape(raw[pos:match.start()]))
        out.append(_token_text(match.group(1)))
        pos = match.end()
    out.append(_entity_unescape(raw[pos:]))
    return "".join(out)


def _token_text(inner: str) -> str:
    target, _sep, label = inner.partition("|")
    if target.startswith(("@", "#")):
        return f"<{inner}>"
    if target.startswith("!"):
        name = label or target[1:].split("^")[0]
        return _entity_unescape(name if name.startswith("@") else "@" + name)
    if target.startswith("mailto:"):
        return _entity_unescape(label or target[len("mailto:"):])
    return _entity_unescape(target)


def mentioned_users(text: str) -> dict[str, str]:
    """User ids mentioned in a command line, with the label Slack gave (may be empty)."""
    found: dict[str, str] = {}
    for match in re.finditer(r"<@([UW][A-Z0-9]+)(?:\|([^>]*))?>", text):
        found.setdefault(match.group(1), match.group(2) or "")
    return found


def mentioned_channels(text: str) -> dict[str, str]:
    """Channel ids referenced in a command line, with their names when Slack gave them."""
    found: dict[str, str] = {}
    for match in re.finditer(r"<#([CG][A-Z0-9]+)(?:\|([^>]*))?>", text):
        found.setdefault(match.group(1), "#" + match.group(2) if match.group(2) else "")
    return found


def escape_plain(text: str) -> str:
    """For `plain_text` objects: only the three characters Slack reads as markup."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_URL = re.compile(r"https?://[^\s<>|`*~]+[^\s<>|`*~.,;:!?)\]'\"]")


def escape_mrkdwn(text: str) -> str:
    """For `mrkdwn` objects: no mention or formatting can come out of user text. Web addresses become
    links (Slack would not link them itself: texts are sent `verbatim` so `#channel` or `@here` stay text)."""
    out: list[str] = []
    pos = 0
    for match in _URL.finditer(text):
        out.append(_escape_text(text[pos:match.start()]))
        out.append("<" + escape_plain(match.group(0)) + ">")
        pos = match.end()
    out.append(_escape_text(text[pos:]))
    lines = "".join(out).split("\n")
    # A line starting with > is a quote even when escaped; a soft hyphen in front keeps it literal.
    return "\n".join("\u00ad" + line if line.startswith("&gt;") else line for line in lines)


def _escape_text(text: str) -> str:
    return "".join(_LITERAL.format(char=c) if c in _FORMATTING else c for c in escape_plain(text))


def truncate_escaped(text: str, limit: int, *, mrkdwn: bool = True) -> str:
    """Escape `text` and cut it (with an ellipsis) so the escaped form fits in `limit` characters,
    never cutting inside an escape sequence."""
    fn = escape_mrkdwn if mrkdwn else escape_plain
    escaped = fn(text)
    if len(escaped) <= limit:
        return escaped
    low, high = 0, len(text)
    while low < high:  # the longest prefix whose escaped form, plus the ellipsis, fits
        mid = (low + high + 1) // 2
        if len(fn(text[:mid])) + 1 <= limit:
            low = mid
        else:
            high = mid - 1
    return fn(text[:low]) + "…"
