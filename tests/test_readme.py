"""The README documents every command (its Commands section is generated from the registry)."""

from bot.app import default_capabilities, default_platforms
from bot.capability import assemble
from bot.commands.reference import current_section, markdown


def test_readme_lists_every_command() -> None:
    registry = assemble(default_capabilities()).registry
    assert current_section() == markdown(default_platforms(), registry), \
        "run: python -m bot.commands.reference --update-readme"
