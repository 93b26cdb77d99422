"""What `python -m bot.i18n.tool check` finds in the catalogs besides missing translations.

Every message is rendered with sample values for its placeholders (each plural form with a number
that selects it), then checked: typography of its language, no English command word, option or
value in a translation, the same commands named as in English, options the named command accepts.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from babel.messages.catalog import Message

from bot.i18n import fold, typography
from bot.i18n.vocabulary import (
    SAMPLE_SLUG,
    RegistryView,
    Vocabulary,
    clash_problems,
    commands_named,
    typed_problems,
    usage_problems,
)

_NUMERIC = {"n", "id", "qid", "number", "count", "total", "acked", "sent", "pending", "failed", "waiting",
            "asked", "answered", "percent", "max", "diff", "members", "code"}
_WORDS = {"slug": SAMPLE_SLUG}
_OPTION = re.compile(r"(?<![\w-])--([^\s\]|.,;)\u202f]+)")
_GETTEXT = {"_", "gettext", "ngettext", "pgettext", "N_"}


class _Samples(dict[str, object]):
    """Sample values: numbers where a number goes, a plain word elsewhere."""

    def __init__(self, n: int) -> None:
        super().__init__(n=n)

    def __missing__(self, key: str) -> object:
        return 3 if key in _NUMERIC else _WORDS.get(key, "Lyon")


def render(template: str, n: int = 2) -> str:
    """The message as a reader would see it (the template itself when it cannot be filled)."""
    try:
        return template.format_map(_Samples(n))
    except (ValueError, IndexError, KeyError, AttributeError, TypeError):
        return template


def rendered(message: Message) -> Iterator[tuple[str, str]]:
    """(English, translation) pairs of a message, rendered; one per plural form."""
    ids = message.id if isinstance(message.id, tuple | list) else (message.id,)
    strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
    for index, text in enumerate(strings):
        n = 1 if index == 0 else 2
        english = ids[0] if index == 0 or len(ids) == 1 else ids[1]
        yield render(english, n), render(text or "", n)


def option_problems(text: str, view: RegistryView) -> list[str]:
    """A command line (a usage, a button's command): its options must be the command's."""
    cmd, used = view.lookup(text.split()[:3])
    if cmd is None or used != len(cmd.path):
        return []
    accepted = {fold(n) for o in cmd.options for n in o.names()}
    return [f"'{cmd.name}' has no option --{option}" for option in _OPTION.findall(text)
            if fold(option) not in accepted]


def message_problems(message: Message, locale: str, vocabulary: Vocabulary) -> list[str]:
    """Everything wrong with one translated message (and with its English source)."""
    found: list[str] = []
    view = vocabulary.view
    for english, translated in rendered(message):
        for problem in typography.problems(english, "en"):
            found.append(f"English: {problem}")
        for problem in typography.problems(translated, locale):
            found.append(problem)
        for word in vocabulary.english_in(translated):
            found.append(f"English command word or option '{word}'")
        wanted, named = commands_named(english, view), commands_named(translated, view)
        for name in wanted:
            if name in named:
                named.remove(name)
            else:
                found.append(f"does not name the command '{name}' in words it accepts")
        for problem in option_problems(translated, view):
            found.append(problem)
    return sorted(set(found))


def catalog_problems(messages: Iterable[Message], locale: str, domain: str, vocabulary: Vocabulary) -> list[str]:
    found = []
    for message in messages:
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, tuple | list) else (message.id,)
        for problem in message_problems(message, locale, vocabulary):
            found.append(f"{locale}/{domain}.po: {problem}: {ids[0]!r}")
    return found


def registry_problems(view: RegistryView, locales: Iterable[str]) -> list[str]:
    locales = list(locales)
    found = clash_problems(view) + typed_problems(view, locales)
    for locale in ("en", *locales):
        found += usage_problems(view, locale)
    return found


def fstring_problems(root: Path, tops: Iterable[str]) -> list[str]:
    """A `_()` inside an f-string is never extracted (so never translated): build the string outside."""
    found = []
    for top in tops:
        for path in sorted((root / top).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if not isinstance(node, ast.JoinedStr):
                    continue
                for inner in ast.walk(node):
                    if isinstance(inner, ast.Call) and isinstance(inner.func, ast.Name) \
                            and inner.func.id in _GETTEXT and inner.args and isinstance(inner.args[0], ast.Constant):
                        found.append(f"{path.relative_to(root)}:{inner.lineno}: {inner.func.id}() inside an "
                                     "f-string is not extracted; call it outside the f-string")
    return found


__all__ = ["catalog_problems", "fstring_problems", "message_problems", "registry_problems", "render"]
