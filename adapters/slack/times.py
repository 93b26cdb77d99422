"""Times in each reader's own zone: Slack's date tokens.

A message built in the core shows its times in one zone (the recipient's, or the default one for a
channel). It also keeps the moments it shows (`Message.moments`: the text and the Unix time), so in
Slack's `mrkdwn` text each one becomes `<!date^unix^{date_short_pretty} {time}|text>`: Slack shows it in
the zone and format of whoever reads it, the text being the fallback (notifications, old clients).
Plain-text places (button labels, the notification text) keep the text.
"""

from __future__ import annotations

from typing import Any

from adapters.slack.escaping import escape_mrkdwn

FORMAT = "{date_short_pretty} {time}"


def date_token(unix: int, fallback_escaped: str) -> str:
    return f"<!date^{unix}^{FORMAT}|{fallback_escaped}>"


def with_date_tokens(blocks: list[dict[str, Any]], moments: tuple[tuple[str, int], ...]) -> list[dict[str, Any]]:
    """`blocks` with every moment shown in a mrkdwn text replaced by a date token (in place, returned)."""
    if not moments:
        return blocks
    pairs = [(escaped, date_token(unix, escaped)) for text, unix in moments if (escaped := escape_mrkdwn(text))]
    pairs.sort(key=lambda p: -len(p[0]))  # a longer text first, should one contain another
    for block in blocks:
        _replace_in(block, pairs)
    return blocks


def _replace_in(node: Any, pairs: list[tuple[str, str]]) -> None:
    if isinstance(node, list):
        for item in node:
            _replace_in(item, pairs)
        return
    if not isinstance(node, dict):
        return
    if node.get("type") == "mrkdwn" and isinstance(node.get("text"), str):
        text = node["text"]
        for escaped, token in pairs:
            if escaped in text and len(text) + len(token) - len(escaped) <= 3000:
                text = text.replace(escaped, token)
        node["text"] = text
        return
    for key, value in node.items():
        if key not in ("confirm",) and isinstance(value, dict | list):
            _replace_in(value, pairs)
