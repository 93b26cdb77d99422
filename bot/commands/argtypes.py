"""Argument types: how one token of a command is read and checked (a slug, a mention, a code like `V2`, a
closing time), raising UsageError with what was wrong. `bot.commands.registry` declares arguments with them
(and re-exports them, where the capabilities import them from)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from bot.commands.cleantext import refuse_hidden
from bot.commands.grammar import ChannelRef, Syntax, Token, UserRef
from bot.errors import UsageError
from bot.i18n import _, fold, typed_word
from bot.settings import SUPPORTED_LOCALES

Converter = Callable[[Token, "ConvertEnv"], Any]


@dataclass(frozen=True)
class ConvertEnv:
    """What a converter may need: the platform's syntax (for mentions), the time (for dates)."""

    syntax: Syntax | None  # the request's platform (None: a platform Cercle does not know)
    workspace: str
    now: datetime
    timezone: str


@dataclass(frozen=True)
class ArgType:
    """How to read one argument: a name for messages and a converter raising UsageError.
    `choices`: the fixed words it takes, if any (in English; shown with `typed_word`)."""

    name: str
    convert: Converter
    choices: tuple[str, ...] = ()


def _word(token: Token, env: ConvertEnv) -> str:
    return token.text


def _text(token: Token, env: ConvertEnv) -> str:
    if not token.text.strip():
        raise UsageError(_("This text cannot be empty."))
    return token.text.strip()


def _name(token: Token, env: ConvertEnv) -> str:  # a name read in lists (community, position, site)
    refuse_hidden(token.text.strip())
    return _text(token, env)


_SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")

def _slug(token: Token, env: ConvertEnv) -> str:
    """A community slug; case does not matter (`LYON-Site` is `lyon-site`)."""
    value = token.text.strip().lower()
    refuse_hidden(value)
    if not (2 <= len(value) <= 40 and _SLUG_RE.match(value)):
        raise UsageError(_("'{value}' is not a valid community slug: use 2 to 40 lowercase letters, digits "
                           "and dashes, like data-science.", value=value[:60]))
    return value


def _csv(token: Token, env: ConvertEnv) -> list[str]:
    refuse_hidden(token.text.strip())
    items = [normalise_tag(x) for x in re.split(r"[,;]", token.text)]
    items = [x for x in items if x]
    if not items:
        raise UsageError(_("Give at least one item, separated by commas: a,b,c."))
    if any(len(x) > 80 for x in items):
        raise UsageError(_("Each item must be at most 80 characters long."))
    return list(dict.fromkeys(items))


def normalise_tag(text: str) -> str:
    """Skills, topics and tags are compared lowercase, with inner spaces as single dashes."""
    return re.sub(r"\s+", "-", text.strip().lower()).strip("-#")


def _int(token: Token, env: ConvertEnv) -> int:
    if not token.text.isdigit() or len(token.text) > 9:
        raise UsageError(_("'{value}' is not a whole number.", value=token.text[:40]))
    return int(token.text)


def _user(token: Token, env: ConvertEnv) -> UserRef:
    refuse_hidden(token.text)
    ref = env.syntax.parse_user(token.text, env.workspace) if env.syntax else None
    if ref is None:
        raise UsageError(_("'{value}' is not a mention of a person.", value=token.text[:60]))
    return ref


def _channel(token: Token, env: ConvertEnv) -> ChannelRef:
    ref = env.syntax.parse_channel(token.text, env.workspace) if env.syntax else None
    if ref is None:
        raise UsageError(_("'{value}' is not a channel reference.", value=token.text[:60]))
    return ref


def code_type(prefix: str) -> ArgType:
    """A short code like `V2` (the bare number `2` is accepted too)."""

    def convert(token: Token, env: ConvertEnv) -> int:
        text = token.text.strip().upper()
        refuse_hidden(text)
        if text.startswith(prefix):
            text = text[len(prefix):]
        if not text.isdigit() or len(text) > 9 or int(text) == 0:
            raise UsageError(_("'{value}' is not a code like {example}.", value=token.text[:40],
                               example=f"{prefix}3"))
        return int(text)

    return ArgType(f"{prefix}-code", convert)


def choice_type(*choices: str, kind: str, aliases: dict[str, str] | None = None,
                refusal: str = "") -> ArgType:
    """One of a fixed set of words, of a `kind` ("role", "nomination state"). Each is also accepted as
    the catalogs translate it (`typed_word(choice, kind)`: `entretien` for `interview`); `aliases` map
    other spellings; accents and case do not matter. A refusal lists the choices in the reader's
    language (`refusal`, marked with N_, may say it better: it gets `{value}` and `{choices}`)."""
    accepted: dict[str, str] = {}

    def table() -> dict[str, str]:
        if not accepted:
            for choice in choices:
                for locale in SUPPORTED_LOCALES:
                    accepted.setdefault(fold(typed_word(choice, kind, locale)), choice)
            for alias, canonical in (aliases or {}).items():
                accepted.setdefault(fold(alias), canonical)
            for choice in choices:
                accepted[fold(choice)] = choice
        return accepted

    def convert(token: Token, env: ConvertEnv) -> str:
        value = table().get(fold(token.text))
        if value is None:
            shown = ", ".join(typed_word(c, kind) for c in choices)
            raise UsageError(_(refusal, value=token.text[:40], choices=shown) if refusal else
                             _("'{value}' is not one of: {choices}.", value=token.text[:40], choices=shown))
        return value

    return ArgType(kind, convert, tuple(choices))


_DURATION = re.compile(r"^(\d{1,4})\s*(s|sec|m|min|h|d|j|w|sem)$")
# Units as people write them: s = seconds (never weeks), m = minutes; French j (jours), sem (semaines).
_UNITS = {"s": timedelta(seconds=1), "sec": timedelta(seconds=1), "m": timedelta(minutes=1),
          "min": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1), "j": timedelta(days=1),
          "w": timedelta(weeks=1), "sem": timedelta(weeks=1)}


def _when(token: Token, env: ConvertEnv) -> datetime:
    """A closing time: a duration from now (`30s`, `30m`, `4h`, `2d`/`2j`, `1w`/`1sem`) or a date `2026-12-01`."""
    text = token.text.strip().lower()
    m = _DURATION.match(text)
    if m:
        delta = int(m.group(1)) * _UNITS[m.group(2)]
        if delta <= timedelta(0):
            raise UsageError(_("The duration must be more than zero."))
        return env.now + delta
    try:
        if "t" in text or " " in text:
            moment = datetime.fromisoformat(text.upper().replace(" ", "T"))
        else:
            moment = datetime.combine(date.fromisoformat(text), datetime.min.time()).replace(hour=23, minute=59)
    except ValueError:
        raise UsageError(_("'{value}' is not a duration like 2d or a date like 2026-12-01.",
                           value=token.text[:40])) from None
    if moment.tzinfo is None:
        from zoneinfo import ZoneInfo

        moment = moment.replace(tzinfo=ZoneInfo(env.timezone))
    moment = moment.astimezone(UTC)
    if moment <= env.now:
        raise UsageError(_("'{value}' is in the past.", value=token.text[:40]))
    return moment


WORD = ArgType("word", _word)
TEXT = ArgType("text", _text)
NAME = ArgType("name", _name)
SLUG = ArgType("slug", _slug)
CSV = ArgType("list", _csv)
INT = ArgType("number", _int)
USER = ArgType("person", _user)
CHANNEL = ArgType("channel", _channel)
WHEN = ArgType("when", _when)
