"""One command grammar for every platform.

Words are separated by spaces; double quotes (also “…” and «…», as French keyboards type them)
group words into one argument; `--name value` and `--flag` are options. Mentions and channel
references are recognised in each platform's syntax and turned into `UserRef` / `ChannelRef`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.i18n import _
from bot.settings import CONSOLE_WORKSPACE, matrix_workspace

_OPENING = {'"': '"', "“": "”", "«": "»", "„": "“"}


class ParseError(ValueError):
    """The text cannot be read as a command; the message is for the user (already translated)."""


@dataclass(frozen=True)
class Token:
    text: str
    quoted: bool = False

    @property
    def is_option(self) -> bool:
        return not self.quoted and self.text.startswith("--") and len(self.text) > 2


def tokenize(text: str) -> list[Token]:
    """Split a command line into tokens, honouring quotes."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if ch in _OPENING:
            closing = _OPENING[ch]
            end = text.find(closing, i + 1)
            if ch == '"' and end == -1:
                end = text.find("”", i + 1)
            if end == -1:
                raise ParseError(_("A quote is not closed: add the closing \" at the end of the text."))
            tokens.append(Token(text[i + 1:end].strip(" \u00a0\u202f"), quoted=True))
            i = end + 1
            continue
        start = i
        while i < n and not text[i].isspace():
            i += 1
        tokens.append(Token(text[start:i]))
    return _join_commas(tokens)


def _join_commas(tokens: list[Token]) -> list[Token]:
    """`a, b ,c` is one list argument: join unquoted words around commas."""
    out: list[Token] = []
    for tok in tokens:
        if (out and not tok.is_option and not out[-1].is_option
                and ((not out[-1].quoted and out[-1].text.endswith(","))
                     or (not tok.quoted and tok.text.startswith(",")))):
            glue = "" if tok.text.startswith(",") and out[-1].quoted else " "
            out[-1] = Token(out[-1].text + glue + tok.text)
        else:
            out.append(tok)
    return out


@dataclass(frozen=True)
class UserRef:
    """A person mentioned in a command, as an account on a platform."""

    platform: str
    workspace: str
    user_id: str
    label: str  # how it was written, for messages


@dataclass(frozen=True)
class ChannelRef:
    platform: str
    workspace: str
    channel_id: str
    label: str


_SLACK_USER = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|([^>]*))?>$")
_SLACK_CHANNEL = re.compile(r"^<#(C[A-Z0-9]+|G[A-Z0-9]+)(?:\|([^>]*))?>$")
_MATRIX_USER = re.compile(r"^@[a-z0-9._=\-/+]+:[A-Za-z0-9.\-]+(?::\d+)?$")
_MATRIX_ROOM = re.compile(r"^[!#][^\s:]+:[A-Za-z0-9.\-]+(?::\d+)?$")
_CONSOLE_USER = re.compile(r"^@([A-Za-z0-9._\-]{1,64})$")
_CONSOLE_CHANNEL = re.compile(r"^#([A-Za-z0-9._\-]{1,64})$")


def parse_user(token: str, platform: str, workspace: str) -> UserRef | None:
    """Read a mention in the platform's syntax; None if `token` is not one."""
    if platform == "slack":
        m = _SLACK_USER.match(token)
        if m:
            return UserRef("slack", workspace, m.group(1), m.group(2) or m.group(1))
        return None
    if platform == "matrix":
        if _MATRIX_USER.match(token):
            return UserRef("matrix", matrix_workspace(token), token, token)
        return None
    m = _CONSOLE_USER.match(token)
    if m:  # console names are one person whatever their case: @ALICE is alice
        return UserRef("console", CONSOLE_WORKSPACE, m.group(1).lower(), token)
    return None


def parse_channel(token: str, platform: str, workspace: str) -> ChannelRef | None:
    """Read a channel reference in the platform's syntax; None if `token` is not one."""
    if platform == "slack":
        m = _SLACK_CHANNEL.match(token)
        if m:
            return ChannelRef("slack", workspace, m.group(1), "#" + (m.group(2) or m.group(1)))
        return None
    if platform == "matrix":
        if _MATRIX_ROOM.match(token):
            return ChannelRef("matrix", workspace, token, token)
        return None
    m = _CONSOLE_CHANNEL.match(token)
    if m:
        return ChannelRef("console", CONSOLE_WORKSPACE, m.group(1), token)
    return None
