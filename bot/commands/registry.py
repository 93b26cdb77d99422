"""Declarative commands: each handler carries its words, usage, help and typed arguments.

    @command("community join", usage=N_("community join <slug>"), summary=N_("Join a community."),
             args=[Arg("slug", SLUG)])
    def join(ctx: Ctx, slug: str) -> Reply: ...

The decorator only attaches the declaration to the handler; each application assembles its own
`Registry` from the capabilities it runs (`bot.capability`). The registry binds tokens to the declared
arguments (converting and validating them with their types, `bot.commands.argtypes`, re-exported here),
and `help` is generated from it. French aliases of command
words are declared by each capability.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.commands.argtypes import (
    CHANNEL,
    CSV,
    INT,
    NAME,
    SLUG,
    TEXT,
    USER,
    WHEN,
    WORD,
    ArgType,
    ConvertEnv,
    choice_type,
    code_type,
    normalise_tag,
)
from bot.commands.grammar import Token
from bot.errors import UsageError, reading
from bot.i18n import _, fold

if TYPE_CHECKING:
    from bot.messages import Reply


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
                    raise UsageError(_("The option --{name} needs a value.", name=typed), argument=name)
                values[name] = reading(name, opt.type.convert, tokens[i + 1], env)
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
                    raise UsageError(_("Give at least {n} {name}.", n=arg.minimum, name=arg.shown()), argument=arg.name)
                if len(rest) > arg.maximum:
                    raise UsageError(_("Give at most {n} {name}.", n=arg.maximum, name=arg.shown()), argument=arg.name)
                values[arg.name] = [reading(arg.name, arg.type.convert, t, env) for t in rest]
                index = len(positional)
                continue
            if arg.rest and len(positional) > index + 1:
                joined = Token(" ".join(t.text for t in positional[index:]))
                values[arg.name] = reading(arg.name, arg.type.convert, joined, env)
                index = len(positional)
                continue
            if index >= len(positional):
                if arg.optional:
                    values[arg.name] = None
                    continue
                raise UsageError(_("Missing argument: {name}.", name=arg.shown()), argument=arg.name)
            values[arg.name] = reading(arg.name, arg.type.convert, positional[index], env)
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
