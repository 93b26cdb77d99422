"""The command reference in Markdown, generated from the default assembly's registry (README's "Commands"
section).

`python -m bot.commands.reference --update-readme` rewrites the section; a test checks it is current.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bot.i18n import use_locale

if TYPE_CHECKING:
    from bot.commands.registry import Registry
    from bot.platforms import Platforms

README = Path(__file__).resolve().parents[2] / "README.md"
START, END = "<!-- section:commands -->\n", "<!-- /section:commands -->"


def markdown(platforms: Platforms, registry: Registry) -> str:
    """The section for these platforms and the commands of `registry` (README: the default assembly's)."""
    typed = "; ".join(p.command_hint for p in platforms if p.command_hint)
    lines = ["## Commands", "",
             f"{typed}. `help` lists the topics, `help <topic>` their commands and `help <command>` one, in your "
             "language. A refused command says why (with the usage line when the command was typed wrong); a "
             "mistyped word gets a guess (`community lst`: did you mean `community list`?).", ""]
    with use_locale("en"):
        for group_id, title in registry.groups.items():
            commands = [c for c in registry.commands.values() if c.group == group_id]
            if not commands:
                continue
            lines += [f"### {title}", "", "| command | what it does |", "| --- | --- |"]
            lines += [f"| `{_cell(c.usage)}` | {_cell(c.summary)} |" for c in commands]
            lines.append("")
        words = sorted(registry.aliases.items())
        lines.append("French words accepted for command words: "
                     + ", ".join(f"`{alias}` ({canonical})" for alias, canonical in words if alias != "?") + ".")
        options = sorted({(alias, o.name) for c in registry.commands.values() for o in c.options
                          for alias in o.aliases})
        lines += ["", "French option names: "
                  + ", ".join(f"`--{alias}` (--{name})" for alias, name in options)
                  + ". Accents and case do not matter in command words, options and fixed values."]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def current_section() -> str:
    text = README.read_text(encoding="utf-8")
    return text[text.index(START) + len(START):text.index(END)]


def update_readme(platforms: Platforms, registry: Registry) -> None:
    text = README.read_text(encoding="utf-8")
    start = text.index(START) + len(START)
    README.write_text(text[:start] + markdown(platforms, registry) + text[text.index(END):], encoding="utf-8")


if __name__ == "__main__":
    from bot.app import default_capabilities, default_platforms  # the composition root knows both
    from bot.capability import assemble

    default = (default_platforms(), assemble(default_capabilities()).registry)
    if sys.argv[1:] == ["--update-readme"]:
        update_readme(*default)
    else:
        sys.stdout.write(markdown(*default))
