"""Typography by language: French puts a narrow no-break space before `: ; ? !` and inside « »;
English puts none, and quotes with “ ” or " ", never « ».

`colon()` and `quoted()` write it; `problems()` finds what a text does wrong (used by
`python -m bot.i18n.tool check` on every message of the catalogs).
"""

from __future__ import annotations

import re

from bot.i18n import current_locale

NNBSP = "\u202f"  # narrow no-break space: the one Cercle writes
NO_BREAK = ("\u202f", "\u00a0")  # either is right before French punctuation
_HIGH = re.compile(r"[:;?!]")


def colon(locale: str | None = None) -> str:
    """What goes between a label and its value: "Site: Lyon", "Site : Lyon"."""
    return f"{NNBSP}: " if (locale or current_locale()) == "fr" else ": "


def quoted(text: str, locale: str | None = None) -> str:
    """Quote a word or a title the way the language does: « titre », “title”."""
    return f"«{NNBSP}{text}{NNBSP}»" if (locale or current_locale()) == "fr" else f"“{text}”"


def _is_punctuation(text: str, i: int) -> bool:
    """A `:;?!` ending a clause (followed by a space, the end, or a closing mark), not one inside a
    word, a time, a URL or a command (`10:00`, `https://`, `!cercle`, `matrix:@a`)."""
    after = text[i + 1] if i + 1 < len(text) else " "
    if not (after.isspace() or after in "»)\"'`"):
        return False
    return i > 0 and not (text[i - 1] in ":;?!" and text[i] != text[i - 1]) and text[i - 1] != "\n"


def problems(text: str, locale: str) -> list[str]:
    """What `text`, in `locale`, does wrong typographically."""
    found: list[str] = []
    if locale == "fr":
        for match in _HIGH.finditer(text):
            i = match.start()
            if not _is_punctuation(text, i):
                continue
            before = text[i - 1]
            if before in NO_BREAK:
                if i > 1 and text[i - 2] == " ":
                    found.append(f"two spaces before '{text[i]}'")
            elif before == " ":
                found.append(f"a plain space before '{text[i]}' (use a no-break space)")
            elif before not in ":;?!":
                found.append(f"no space before '{text[i]}' (use a no-break space)")
        for match in re.finditer("«", text):
            if text[match.end():match.end() + 1] not in NO_BREAK:
                found.append("no no-break space after «")
        for match in re.finditer("»", text):
            if match.start() == 0 or text[match.start() - 1] not in NO_BREAK:
                found.append("no no-break space before »")
        if "“" in text or "”" in text:
            found.append("“ ” quotes in French (use « »)")
    else:
        if "«" in text or "»" in text:
            found.append("« » quotes in English (use “ ” or \" \")")
        for match in _HIGH.finditer(text):
            if match.start() > 0 and text[match.start() - 1] in NO_BREAK:
                found.append(f"a no-break space before '{match.group()}' in English")
    return found


__all__ = ["NNBSP", "colon", "problems", "quoted"]
