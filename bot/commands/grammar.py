"""One command grammar for every platform.

Words are separated by spaces; double quotes (also “…” and «…», as French keyboards type them)
group words into one argument; `--name value` and `--flag` are options. Mentions and channel
references are written each platform's way: its descriptor (`bot.platforms`) turns them into
`UserRef` / `ChannelRef`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.i18n import _

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


class Syntax(Protocol):
    """How a platform writes people and channels in a command (its descriptor, `bot.platforms`)."""

    def parse_user(self, token: str, workspace: str, /) -> UserRef | None: ...

    def parse_channel(self, token: str, workspace: str, /) -> ChannelRef | None: ...
