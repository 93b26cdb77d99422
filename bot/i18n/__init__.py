"""Translations: Babel catalogs (`locales/<lang>/LC_MESSAGES/<domain>.po`), English as the source.

Each capability keeps its strings in a catalog of its own domain; all are merged at load. The
language of the message being built is a context variable, so services write `_("...")` and the
router sets the caller's language (or a recipient's, for messages sent elsewhere).
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from babel import Locale
from babel.messages.pofile import read_po
from babel.plural import to_python

from bot.settings import SUPPORTED_LOCALES

LOCALES_DIR = Path(__file__).parent / "locales"
DEFAULT_LOCALE = "en"
_current: contextvars.ContextVar[str] = contextvars.ContextVar("cercle_locale", default=DEFAULT_LOCALE)


@cache
def catalog(locale: str) -> dict[str, str | tuple[str, ...]]:
    """All translated messages of a language: msgid (or singular) -> translation(s)."""
    merged: dict[str, str | tuple[str, ...]] = {}
    folder = LOCALES_DIR / locale / "LC_MESSAGES"
    if not folder.is_dir():
        return merged
    for po in sorted(folder.glob("*.po")):
        with po.open("rb") as handle:
            cat = read_po(handle, locale=locale)
        for message in cat:
            if not message.id or message.fuzzy:
                continue
            key = message.id[0] if isinstance(message.id, tuple | list) else message.id
            value = message.string
            if isinstance(value, tuple | list):
                if all(value):
                    merged[key] = tuple(value)
            elif value:
                merged[key] = value
    return merged


def current_locale() -> str:
    return _current.get()


@contextmanager
def use_locale(locale: str | None) -> Iterator[str]:
    """Build messages in `locale` inside the block."""
    chosen = locale if locale in SUPPORTED_LOCALES else DEFAULT_LOCALE
    token = _current.set(chosen)
    try:
        yield chosen
    finally:
        _current.reset(token)


def gettext(message: str, **params: object) -> str:
    """Translate `message` into the current language, then fill `{placeholders}`."""
    text = catalog(_current.get()).get(message, message) if _current.get() != DEFAULT_LOCALE else message
    if isinstance(text, tuple):
        text = text[0]
    return text.format(**params) if params else text


def ngettext(singular: str, plural: str, n: int, **params: object) -> str:
    """Plural-aware translation; `{n}` is always available."""
    locale = _current.get()
    forms = catalog(locale).get(singular) if locale != DEFAULT_LOCALE else None
    if isinstance(forms, tuple):
        index = to_python(Locale.parse(locale).plural_form)(n)
        text = forms[min(_plural_index(index), len(forms) - 1)]
    else:
        text = singular if n == 1 else plural
    return text.format(n=n, **params)


def _plural_index(tag: str) -> int:
    return {"one": 0, "other": 1, "many": 1}.get(tag, 1)


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated where it is shown."""
    return message


_ = gettext

__all__ = ["N_", "_", "catalog", "current_locale", "gettext", "ngettext", "use_locale"]
