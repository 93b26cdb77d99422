"""Keep the catalogs in step with the code: `python -m bot.i18n.tool update|check`.

Strings are extracted with Babel from `bot/` and `adapters/`; each capability package has a
catalog (domain) of its own, so capabilities are translated independently:
`bot/<package>/...` → `<package>.po`, `adapters/<platform>/...` → `adapter_<platform>.po`,
everything else in `bot/` → `core.po`. The fixed values commands take (states, statuses, yes/no)
are added from the registry, in the context "typed <kind>", to the catalog of the command's package.

`check` reports untranslated strings, placeholders that differ, and what `bot.i18n.checks` finds:
typography, English command words or options in a translation, commands named in words that do not
run them, translated strings inside f-strings (never extracted).
"""

from __future__ import annotations

import re
import sys
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from bot.i18n import LOCALES_DIR, TYPED, checks
from bot.i18n.vocabulary import RegistryView, Vocabulary, registry_view, typed_kinds

if TYPE_CHECKING:
    from bot.commands.registry import Registry

ROOT = Path(__file__).resolve().parents[2]
TRANSLATED = ("fr",)
CORE_PACKAGES = {"commands", "i18n"}
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def domain_of(path: str) -> str:
    parts = Path(path).parts
    if parts[0] == "adapters" and len(parts) > 2:
        return f"adapter_{parts[1]}"
    if parts[0] == "bot" and len(parts) > 2 and parts[1] not in CORE_PACKAGES:
        return parts[1]
    return "core"


def extract(view: RegistryView) -> dict[str, Catalog]:
    """Every translatable string of the code, and the fixed values of `view`'s commands, by domain."""
    catalogs: dict[str, Catalog] = defaultdict(lambda: Catalog(project="cercle", charset="utf-8"))
    for top in ("bot", "adapters"):
        method_map = [("**.py", "python")]
        for filename, lineno, message, comments, context in extract_from_dir(ROOT / top, method_map):
            rel = f"{top}/{filename}"
            if "/tool.py" in rel:
                continue
            catalogs[domain_of(rel)].add(message, locations=[(rel, lineno)], auto_comments=comments,
                                         context=context)
    for kind in typed_kinds(view):
        rel = kind.module.replace(".", "/") + ".py"
        for word in kind.words:
            catalogs[domain_of(rel)].add(word, context=TYPED.format(kind=kind.kind), locations=[(rel, 0)],
                                         auto_comments=[f"How people type this {kind.kind}: one word."])
    return dict(catalogs)


def _po_path(locale: str, domain: str) -> Path:
    return LOCALES_DIR / locale / "LC_MESSAGES" / f"{domain}.po"


def update(view: RegistryView) -> None:
    """Add new strings to the French catalogs (keeping translations), drop strings no longer used."""
    for domain, template in extract(view).items():
        for locale in TRANSLATED:
            path = _po_path(locale, domain)
            if path.exists():
                with path.open("rb") as fh:
                    catalog = read_po(fh, locale=locale)
                catalog.update(template, no_fuzzy_matching=True)
                catalog.obsolete.clear()
            else:
                catalog = Catalog(locale=locale, project="cercle", charset="utf-8")
                catalog.update(template, no_fuzzy_matching=True)
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("wb") as fh:
                catalog.creation_date = catalog.revision_date = _EPOCH
                write_po(fh, catalog, width=0, no_location=True, sort_output=False)
            print(f"{path.relative_to(ROOT)}: {len(catalog)} messages")


def problems(view: RegistryView) -> list[str]:
    """Strings with no French translation, whose placeholders differ from the English, or that
    `bot.i18n.checks` finds wrong (with `view`: the commands whose words, options and values a
    translation must use)."""
    found: list[str] = checks.fstring_problems(ROOT, ("bot", "adapters"))
    found += checks.registry_problems(view, TRANSLATED)
    vocabularies = {locale: Vocabulary.of(view, locale) for locale in TRANSLATED}
    for domain, template in extract(view).items():
        for locale in TRANSLATED:
            path = _po_path(locale, domain)
            if not path.exists():
                found.append(f"{locale}/{domain}.po is missing (run python -m bot.i18n.tool update)")
                continue
            with path.open("rb") as fh:
                catalog = read_po(fh, locale=locale)
            for message in template:
                if not message.id:
                    continue
                translated = catalog.get(message.id, context=message.context)
                ids = message.id if isinstance(message.id, tuple | list) else (message.id,)
                strings = (translated.string if translated else None)
                values = strings if isinstance(strings, tuple | list) else (strings,)
                if translated is None or translated.fuzzy or not all(values):
                    found.append(f"{locale}/{domain}.po: untranslated: {ids[0]!r}")
                    continue
                wanted = set(_PLACEHOLDER.findall(" ".join(ids)))
                for value in values:
                    have = set(_PLACEHOLDER.findall(value or ""))
                    if have - wanted or (wanted - {"n"}) - have:
                        found.append(f"{locale}/{domain}.po: placeholders differ: {ids[0]!r} -> {value!r}")
                found += checks.catalog_problems([translated], locale, domain, vocabularies[locale])
    return found


def main(argv: list[str], registry: Registry) -> int:
    """`update` or `check` the catalogs against the code and the commands of `registry`."""
    if argv[:1] == ["update"]:
        update(registry_view(registry))
        return 0
    if argv[:1] == ["check"]:
        issues = problems(registry_view(registry))
        for line in issues:
            print(line)
        print(f"{len(issues)} problem(s)")
        return 1 if issues else 0
    print("usage: python -m bot.i18n.tool update|check")
    return 2


if __name__ == "__main__":
    from bot.app import default_capabilities  # the composition root knows the capabilities
    from bot.capability import assemble

    sys.exit(main(sys.argv[1:], assemble(default_capabilities()).registry))
