"""Translations: Babel catalogs (`locales/<lang>/LC_MESSAGES/<domain>.po`), English as the source.

Each capability keeps its strings in a catalog of its own domain; all are chained at load. The
language of the message being built, and the time zone of its reader, are context variables, so
services write `_("...")` and `formats.moment(t)`, and the router sets the caller's language and
zone (or a recipient's, for messages sent elsewhere).

Plurals follow each catalog's own `Plural-Forms` (the standard library's gettext evaluates it:
French says "0 vote", English "0 votes"); English, the source, uses the msgid/msgid_plural pair.
"""

from __future__ import annotations

import contextvars
import gettext as _gettext
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot.settings import SUPPORTED_LOCALES

LOCALES_DIR = Path(__file__).parent / "locales"
DEFAULT_LOCALE = "en"
DEFAULT_ZONE = "UTC"
# Words people type (fixed values such as states) are translated in a context of their own, one per
# kind of value: `typed_word("interview", "nomination state")` is `pgettext("typed nomination state", ...)`.
TYPED = "typed {kind}"
_current: contextvars.ContextVar[str] = contextvars.ContextVar("cercle_locale", default=DEFAULT_LOCALE)
_zone: contextvars.ContextVar[str] = contextvars.ContextVar("cercle_zone", default=DEFAULT_ZONE)
# The moments shown (text, Unix time) while building messages in a `use_locale` block: a `Message` keeps
# them, so a platform that shows times in each reader's own zone (Slack's date tokens) can.
_moments: contextvars.ContextVar[list[tuple[str, int]] | None] = contextvars.ContextVar("cercle_moments",
                                                                                         default=None)
MOMENTS_KEPT = 20


@cache
def translations(locale: str) -> _gettext.NullTranslations:
    """The language's catalogs as one gettext chain (each domain's `.po` compiled in memory)."""
    folder = LOCALES_DIR / locale / "LC_MESSAGES"
    chain: _gettext.NullTranslations = _gettext.NullTranslations()
    if locale == DEFAULT_LOCALE or not folder.is_dir():
        return chain
    first: _gettext.NullTranslations | None = None
    for po in sorted(folder.glob("*.po")):
        with po.open("rb") as handle:
            cat = read_po(handle, locale=locale)
        buffer = BytesIO()
        write_mo(buffer, cat)  # fuzzy entries are left out, the header (with Plural-Forms) kept
        buffer.seek(0)
        domain = _gettext.GNUTranslations(buffer)
        if first is None:
            first = domain
        else:
            first.add_fallback(domain)
    return first or chain


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


def current_zone() -> str:
    """The IANA time zone of whoever reads the message being built."""
    return _zone.get()


@contextmanager
def use_locale(locale: str | None, zone: str | None = None) -> Iterator[str]:
    """Build messages in `locale` inside the block (and for a reader in `zone`, when given)."""
    chosen = locale if locale in SUPPORTED_LOCALES else DEFAULT_LOCALE
    token = _current.set(chosen)
    zone_token = _zone.set(zone) if zone else None
    moments_token = _moments.set([])
    try:
        yield chosen
    finally:
        _moments.reset(moments_token)
        if zone_token is not None:
            _zone.reset(zone_token)
        _current.reset(token)


def note_moment(text: str, unix: int) -> None:
    """Remember that `text` shows the moment `unix` (`formats.moment` calls it)."""
    noted = _moments.get()
    if noted is None or (text, unix) in noted:
        return
    noted.append((text, unix))
    del noted[:-MOMENTS_KEPT]


def noted_moments() -> tuple[tuple[str, int], ...]:
    """The moments shown so far in this `use_locale` block (what a `Message` built now may contain)."""
    return tuple(_moments.get() or ())


def _fill(text: str, params: dict[str, object]) -> str:
    return text.format(**params) if params else text


def gettext(message: str, **params: object) -> str:
    """Translate `message` into the current language, then fill `{placeholders}`."""
    return _fill(translations(_current.get()).gettext(message), params)


def ngettext(singular: str, plural: str, n: int, **params: object) -> str:
    """Plural-aware translation (the catalog's Plural-Forms decide); `{n}` is always available."""
    return translations(_current.get()).ngettext(singular, plural, n).format(n=n, **params)


def pgettext(context: str, message: str, **params: object) -> str:
    """Translate `message` as meant in `context` (the same English word may need two translations)."""
    return _fill(translations(_current.get()).pgettext(context, message), params)


def typed_word(word: str, kind: str, locale: str | None = None) -> str:
    """A word people type (a state, a status, yes), as typed in the current language (or `locale`):
    the catalogs' "typed <kind>" entries, which `choice_type` accepts too."""
    return translations(locale or _current.get()).pgettext(TYPED.format(kind=kind), word)


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated where it is shown."""
    return message


def fold(text: str) -> str:
    """A typed word compared loosely: lowercase, without accents, `_` as `-` (`Thèmes` = `themes`,
    `under_review` = `under-review`)."""
    decomposed = unicodedata.normalize("NFKD", text.strip().lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).replace("’", "'").replace("_", "-")


_ = gettext

__all__ = [
    "N_",
    "TYPED",
    "_",
    "catalog",
    "current_locale",
    "current_zone",
    "fold",
    "gettext",
    "ngettext",
    "note_moment",
    "noted_moments",
    "pgettext",
    "translations",
    "typed_word",
    "use_locale",
]
