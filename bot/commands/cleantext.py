"""What the core accepts as text: NFC everywhere, no NUL anywhere, no hidden characters in identifiers.

A right-to-left override or a zero-width space in a slug, a name, a skill or a code makes two values
look the same while they differ (`hr` and `h\u200br`), or makes a name read backwards in a list: such
characters are refused there with the code point named, so the person sees what to remove. Free text
(an argument, a question) keeps them: scripts written right to left and emoji sequences need them.
"""

from __future__ import annotations

import unicodedata

from bot.errors import UsageError
from bot.i18n import _

NUL = "\x00"
# Unicode categories refused in identifiers: Cc (controls: NUL, tab, escape...), Cf (format: bidi overrides and
# isolates, zero-width space and joiners, the byte order mark, soft hyphen), Co and Cn (private use, unassigned),
# Zl and Zp (line and paragraph separators).
HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cn", "Zl", "Zp"})


def normalise(text: str) -> str:
    """The one form the core compares and stores: NFC (an `é` typed as e + accent is the `é` of a slug)."""
    return unicodedata.normalize("NFC", text)


def hidden_character(text: str) -> str | None:
    """The first control, bidirectional or zero-width character of `text`, as U+XXXX; None if there is none."""
    for char in text:
        if unicodedata.category(char) in HIDDEN_CATEGORIES:
            return f"U+{ord(char):04X}"
    return None


def refuse_hidden(text: str) -> None:
    """Refuse an identifier (slug, name, skill, code, mention) holding a hidden character."""
    found = hidden_character(text)
    if found:
        raise UsageError(_("'{value}' contains an invisible or control character ({code}: a right-to-left "
                           "override, a zero-width space or the like). Type it again without it.",
                           value=visible(text)[:60], code=found))


def visible(text: str) -> str:
    """`text` with its hidden characters taken out, safe to quote back to the person."""
    return "".join(c for c in text if unicodedata.category(c) not in HIDDEN_CATEGORIES)


def clean_name(text: str) -> str:
    """A name a platform gives (a display name, a channel name): stored without hidden characters, since
    nobody typed it in a command and refusing it would lock the person out."""
    return visible(normalise(text))
