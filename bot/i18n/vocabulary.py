"""The words of the command language, read from the registry, and what a translation does wrong with them.

English command words, options and fixed values (states, statuses, yes/no) must not appear in a
French message: the French ones must (`idée soutenir I4`, `--thèmes`, `entretien`). Everything is
derived from the commands as registered, so a new command, option or value is checked at once.
`registry_view(registry)` is how the checks see the commands (`python -m bot.i18n.tool`: the default
assembly's).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bot.commands.grammar import Token
from bot.commands.registry import ConvertEnv
from bot.errors import UsageError
from bot.i18n import fold, typed_word, use_locale

if TYPE_CHECKING:
    from bot.commands.registry import Arg, Command, Opt, Registry

# English command words that are also everyday words of a language: flagged there only where they
# name a command (`vote V3`), not in prose ("votre vote"). Same-word commands (`communauté info`,
# `crise questions`) are never flagged.
SHARED_WORDS: dict[str, frozenset[str]] = {
    "fr": frozenset({"vote", "questions", "question", "site", "info", "position", "nomination", "archive",
                     "description", "audience", "admin", "en", "fr", "options", "note", "consultation", "close",
                     "page"}),
}
_WORD = re.compile(r"(?<![\w-])(--)?([^\W\d][\w'’-]*)", re.UNICODE)
_PLACEHOLDER = re.compile(r"^(?:[A-Za-z]?<.*|\{.*|@.*|#.*|\".*|«.*)$")
_CODE = re.compile(r"^[A-Za-z]\d+$")
SAMPLE_SLUG = "jardin"  # what a {slug} placeholder is rendered as, in checks
_ENV = ConvertEnv(None, "local", datetime(2026, 1, 1, tzinfo=UTC), "UTC")  # fixed values need no platform


@dataclass(frozen=True)
class RegistryView:
    """What the checks need of the registry: the commands and how a line of words finds one."""

    commands: tuple[Command, ...]
    lookup: Callable[[list[str]], tuple[Command | None, int]]
    aliases: dict[str, str]  # command word alias -> canonical


def registry_view(registry: Registry) -> RegistryView:
    """What the checks need of the commands of `registry`."""
    return RegistryView(tuple(registry.commands.values()), registry.lookup, dict(registry.aliases))


@dataclass(frozen=True)
class TypedKind:
    """A kind of fixed value (`nomination state`) and its words, with the module that declares it."""

    kind: str
    words: tuple[str, ...]
    module: str


def _inputs(cmd: Command) -> list[Arg | Opt]:
    return [*cmd.args, *cmd.options]


def typed_kinds(view: RegistryView) -> list[TypedKind]:
    """Every kind of fixed value the commands take, once."""
    seen: dict[str, TypedKind] = {}
    for cmd in view.commands:
        for item in _inputs(cmd):
            if item.type.choices and item.type.name not in seen:
                seen[item.type.name] = TypedKind(item.type.name, item.type.choices, cmd.handler.__module__)
    return list(seen.values())


@dataclass(frozen=True)
class Vocabulary:
    """English words of the command language that a text in `locale` must not contain."""

    locale: str
    words: frozenset[str]  # flagged anywhere
    in_commands: frozenset[str]  # flagged where they begin a command (`vote V3`)
    options: frozenset[str]  # flagged after `--`
    view: RegistryView

    @staticmethod
    def of(view: RegistryView, locale: str) -> Vocabulary:
        shared = SHARED_WORDS.get(locale, frozenset())
        local_words = {fold(alias) for alias in view.aliases}
        english_words = {w for cmd in view.commands for w in cmd.path}
        local_options = {fold(n) for cmd in view.commands for o in cmd.options for n in o.aliases}
        english_options = {fold(o.name) for cmd in view.commands for o in cmd.options}
        values: set[str] = set()
        for kind in typed_kinds(view):
            translated = {fold(typed_word(w, kind.kind, locale)) for w in kind.words}
            values |= {fold(w) for w in kind.words} - translated
        flagged = {fold(w) for w in english_words} - local_words
        return Vocabulary(
            locale=locale,
            words=frozenset((flagged | values) - shared),
            in_commands=frozenset(w for w in flagged & shared if w in set(view.aliases.values())),  # `voter`
            options=frozenset(english_options - local_options - shared),
            view=view,
        )

    def english_in(self, text: str) -> list[str]:
        """The English command words, options and values found in `text`."""
        found: list[str] = []
        tokens = text.split()
        for match in _WORD.finditer(text):
            dashes, word = match.group(1), fold(match.group(2)).strip("'-")
            if dashes:
                if word in self.options:
                    found.append(f"--{word}")
                continue
            if word in self.words:
                found.append(word)
        words = [_bare(t) for t in tokens]
        for i in range(len(words)):
            if not any(fold(w) in self.in_commands for w in words[i:i + 3]):
                continue
            cmd, used = self.view.lookup(words[i:i + 3])
            if cmd is None or used != len(cmd.path):
                continue
            if used == 1 and not (i + 1 < len(words) and takes(cmd, words[i + 1])):
                continue
            shown = " ".join(words[i:i + used] if used > 1 else words[i:i + 2])
            found += [shown for w in words[i:i + used] if fold(w) in self.in_commands]
        return found


def _bare(token: str) -> str:
    return token.strip("`'.,;:!?()[]\u00a0\u202f")


def takes(cmd: Command, word: str) -> bool:
    """Whether `word` is plainly the first argument of `cmd`: a placeholder (`<V-code>`), a mention, a
    quoted text, a code that the argument takes (`V3`), or the sample slug; not any word of prose."""
    if _PLACEHOLDER.match(word):
        return True
    if not cmd.args or not (_CODE.match(word) or word == SAMPLE_SLUG):
        return False
    if _CODE.match(word) and cmd.args[0].type.name == "slug":
        return False  # `I3` in prose is a code: slugs accept any case, but nobody writes one like a code
    try:
        cmd.args[0].type.convert(Token(word), _ENV)
    except UsageError:
        return False
    return True


def commands_named(text: str, view: RegistryView) -> list[str]:
    """The commands a text names, in order: `idée soutenir I4` names `idea upvote`. One-word commands
    count when what follows may be their argument (`voter V3 2`), so prose ("votre vote") names none."""
    words = [_bare(t) for t in text.replace("`", " ").split()]
    words = [w for w in words if w]
    names: list[str] = []
    i = 0
    while i < len(words):
        if words[i].startswith(("<", "{", "--", "@", "#", '"', "«")):
            i += 1
            continue
        cmd, used = view.lookup(words[i:i + 3])
        if cmd is not None and used == len(cmd.path) and (
                used > 1 or (i + 1 < len(words) and takes(cmd, words[i + 1]))):
            names.append(cmd.name)
            i += used
            continue
        i += 1
    return names


def usage_problems(view: RegistryView, locale: str) -> list[str]:
    """Each command's usage, as translated: it must start with words that name the command and use
    only options that the command accepts."""
    from bot.i18n import _

    found: list[str] = []
    with use_locale(locale):
        for cmd in view.commands:
            usage = _(cmd.usage)
            words = usage.split()
            named, used = view.lookup(words[:3])
            if named is not cmd or used != len(cmd.path):
                found.append(f"{locale}: the usage of '{cmd.name}' does not start with its command words: {usage!r}")
            accepted = {fold(n) for o in cmd.options for n in o.names()}
            for option in re.findall(r"--([^\s\]|]+)", usage):
                if fold(option) not in accepted:
                    found.append(f"{locale}: the usage of '{cmd.name}' shows an option it does not accept: --{option}")
    return found


def clash_problems(view: RegistryView) -> list[str]:
    """Two names for one thing are fine; one name for two things is not: an option name (in any
    language) given twice in a command, or a command word taken over by another one's alias."""
    found = []
    for cmd in view.commands:
        names = [fold(n) for o in cmd.options for n in o.names()]
        found += [f"'{cmd.name}' has two options named --{n}" for n in sorted({n for n in names if names.count(n) > 1})]
    folded = {fold(alias): canonical for alias, canonical in view.aliases.items()}
    for word in sorted({w for cmd in view.commands for w in cmd.path}):
        if folded.get(fold(word), word) != word:
            found.append(f"the command word '{word}' is also an alias of '{folded[fold(word)]}'")
    return found


def typed_problems(view: RegistryView, locales: Iterable[str]) -> list[str]:
    """A translated fixed value must be one word that the command accepts as that value."""
    found: list[str] = []
    kinds = {k.kind: k for k in typed_kinds(view)}
    types = {item.type.name: item.type for cmd in view.commands for item in _inputs(cmd) if item.type.choices}
    for locale in locales:
        for kind in kinds.values():
            for word in kind.words:
                shown = typed_word(word, kind.kind, locale)
                try:
                    back = types[kind.kind].convert(Token(shown), _ENV)
                except UsageError:
                    back = None
                if back != word or len(shown.split()) != 1:
                    found.append(f"{locale}: the {kind.kind} '{word}' is typed {shown!r}, which is not "
                                 "accepted as that value (give one word that the command accepts)")
    return found
