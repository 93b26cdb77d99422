"""Declarative commands: each handler carries its words, usage, help and typed arguments.

    @command("community join", usage=N_("community join <slug>"), summary=N_("Join a community."),
             args=[Arg("slug", SLUG)])
    def join(ctx: Ctx, slug: str) -> Reply: ...

The decorator only attaches the declaration to the handler; each application assembles its own
`Registry` from the capabilities it runs (`bot.capability`). The registry binds tokens to the declared
arguments (converting and validating them), and `help` is generated from it. French aliases of command
words are declared by each capability.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.commands.cleantext import refuse_hidden
from bot.commands.grammar import ChannelRef, Syntax, Token, UserRef
from bot.errors import UsageError
from bot.i18n import _, fold, typed_word
from bot.settings import SUPPORTED_LOCALES

if TYPE_CHECKING:
    from bot.messages import Reply

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


@dataclass(frozen=True)
class Arg:
    """A positional argument. `many=True` takes every remaining positional token (at least `minimum`)."""

    name: str
    type: ArgType = WORD
    optional: bool = False
    many: bool = False
    minimum: int = 1
    maximum: int = 100
    label: str = ""  # a translatable name for messages (marked with N_); default: <name>
    rest: bool = False  # the last argument: it takes the rest of the line (`whoknows machine learning`)

    def shown(self) -> str:
        return _(self.label) if self.label else f"<{self.name}>"


@dataclass(frozen=True)
class Opt:
    """An option `--name value`, or a flag `--name` when `flag=True`. `aliases`: its names in other
    languages (`--thèmes` for `--topics`); accents and case do not matter."""

    name: str
    type: ArgType = TEXT
    flag: bool = False
    aliases: tuple[str, ...] = ()

    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


Handler = Callable[..., "Reply"]


@dataclass
class Command:
    path: tuple[str, ...]
    handler: Handler
    usage: str
    summary: str
    args: tuple[Arg, ...] = ()
    options: tuple[Opt, ...] = ()
    group: str = ""
    name: str = field(init=False)

    def __post_init__(self) -> None:
        self.name = " ".join(self.path)

    def bind(self, tokens: list[Token], env: ConvertEnv) -> dict[str, Any]:
        """Turn the tokens after the command words into handler keyword arguments."""
        values: dict[str, Any] = {}
        positional: list[Token] = []
        known = {fold(n): o for o in self.options for n in o.names()}
        i = 0
        while i < len(tokens):
            tok = tokens[i]
            if tok.is_option:
                typed = tok.text[2:].lower()
                opt = known.get(fold(typed))
                if opt is None:
                    raise UsageError(_("Unknown option --{name}.", name=typed[:40]))
                name = opt.name
                if name in values:
                    raise UsageError(_("The option --{name} is given twice.", name=typed))
                if opt.flag:
                    values[name] = True
                    i += 1
                    continue
                if i + 1 >= len(tokens) or tokens[i + 1].is_option:
                    raise UsageError(_("The option --{name} needs a value.", name=typed))
                values[name] = opt.type.convert(tokens[i + 1], env)
                i += 2
                continue
            positional.append(tok)
            i += 1
        for opt in self.options:
            values.setdefault(opt.name, False if opt.flag else None)

        index = 0
        for arg in self.args:
            if arg.many:
                rest = positional[index:]
                if len(rest) < arg.minimum:
                    raise UsageError(_("Give at least {n} {name}.", n=arg.minimum, name=arg.shown()))
                if len(rest) > arg.maximum:
                    raise UsageError(_("Give at most {n} {name}.", n=arg.maximum, name=arg.shown()))
                values[arg.name] = [arg.type.convert(t, env) for t in rest]
                index = len(positional)
                continue
            if arg.rest and len(positional) > index + 1:
                joined = Token(" ".join(t.text for t in positional[index:]))
                values[arg.name] = arg.type.convert(joined, env)
                index = len(positional)
                continue
            if index >= len(positional):
                if arg.optional:
                    values[arg.name] = None
                    continue
                raise UsageError(_("Missing argument: {name}.", name=arg.shown()))
            values[arg.name] = arg.type.convert(positional[index], env)
            index += 1
        if index < len(positional):
            extra = positional[index].text
            raise UsageError(_("Unexpected '{value}'. If it is one text, put it between double quotes.",
                               value=extra[:60]))
        return {key.replace("-", "_"): value for key, value in values.items()}


class Registry:
    """Every command and word alias the router knows."""

    def __init__(self) -> None:
        self.commands: dict[tuple[str, ...], Command] = {}
        self.aliases: dict[str, str] = {}
        self.groups: dict[str, str] = {}  # group id -> translatable title
        self._folded: dict[str, str] = {}  # alias without accents -> canonical

    def add(self, cmd: Command) -> None:
        if cmd.path in self.commands:
            raise ValueError(f"command registered twice: {cmd.name}")
        self.commands[cmd.path] = cmd

    def alias(self, word: str, canonical: str) -> None:
        """Accept `word` (e.g. French) wherever the command word `canonical` is expected; accents and
        case do not matter (`communaute` = `communauté`). A word keeps one meaning across capabilities:
        giving it a second one is an error."""
        word = word.lower()
        if self.aliases.get(word, canonical) != canonical:
            raise ValueError(f"alias {word!r} means both {self.aliases[word]!r} and {canonical!r}")
        if self._folded.get(fold(word), canonical) != canonical:
            raise ValueError(f"alias {word!r} means both {self._folded[fold(word)]!r} and {canonical!r}")
        self.aliases[word] = canonical
        self._folded[fold(word)] = canonical

    def group(self, group_id: str, title: str) -> None:
        if group_id in self.groups:
            raise ValueError(f"help group declared twice: {group_id}")
        self.groups[group_id] = title

    def lookup(self, words: list[str]) -> tuple[Command | None, int]:
        """The command named by the first words (longest match), and how many words it used."""
        canonical = [self.canonical(w) for w in words[:3]]
        for length in (3, 2, 1):
            if len(canonical) >= length and tuple(canonical[:length]) in self.commands:
                return self.commands[tuple(canonical[:length])], length
        return None, 0

    def canonical(self, word: str) -> str:
        """The command word `word` stands for (itself when it is not an alias)."""
        return self.aliases.get(word.lower()) or self._folded.get(fold(word), word.lower())

    def with_prefix(self, word: str) -> list[Command]:
        word = self.canonical(word)
        return [c for c in self.commands.values() if c.path[0] == word]

    def names(self) -> Iterable[str]:
        return (c.name for c in self.commands.values())

    def reserved_words(self) -> set[str]:
        """Words that cannot be the first argument of a one-word command, because a longer command starts
        with them (`idea upvote I3` is matched before `idea <slug>`): the next words of those longer
        commands, and every alias of them. A community slug must not be one."""
        firsts = {c.path[0] for c in self.commands.values() if len(c.path) == 1 and c.args}
        nexts = {c.path[1] for c in self.commands.values() if len(c.path) > 1 and c.path[0] in firsts}
        return nexts | {alias for alias, canonical in self.aliases.items() if canonical in nexts}


COMMANDS_ATTRIBUTE = "__cercle_commands__"


def command(name: str, *, usage: str, summary: str, args: Iterable[Arg] = (), options: Iterable[Opt] = (),
            group: str = "") -> Callable[[Handler], Handler]:
    """Declare `handler(ctx, **arguments) -> Reply` as the command `name`. Nothing is registered here:
    the decorator attaches the `Command` to the handler, and the capability listing the handler's module
    adds it to the registry its application assembles (`bot.capability.assemble`)."""

    def decorate(handler: Handler) -> Handler:
        declared: list[Command] = [*getattr(handler, COMMANDS_ATTRIBUTE, ()),
                                   Command(tuple(name.split()), handler, usage, summary, tuple(args), tuple(options),
                                           group or name.split()[0])]
        setattr(handler, COMMANDS_ATTRIBUTE, declared)
        return handler

    return decorate


def commands_of(handler: object) -> list[Command]:
    """The commands declared on a handler with `@command` (none for anything else)."""
    return list(getattr(handler, COMMANDS_ATTRIBUTE, ()))


__all__ = ["CHANNEL", "CSV", "INT", "NAME", "SLUG", "TEXT", "USER", "WHEN", "WORD", "Arg", "ArgType", "Command",
           "ConvertEnv", "Opt", "Registry", "choice_type", "code_type", "command", "commands_of", "normalise_tag"]
