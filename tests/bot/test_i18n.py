"""English and French are complete, and help speaks both."""

from __future__ import annotations

from bot.i18n import _, catalog, tool, use_locale
from tests.support.chat import Chat


def test_every_string_has_a_french_translation_with_the_same_placeholders() -> None:
    assert tool.problems() == []


def test_french_catalog_is_loaded() -> None:
    assert catalog("fr")
    with use_locale("fr"):
        assert _("Cercle commands") == "Commandes de Cercle"
    with use_locale("en"):
        assert _("Cercle commands") == "Cercle commands"


def test_help_lists_every_command_in_english_and_french(chat: Chat) -> None:
    english = chat.ok("help", user="alice")
    chat.ok("language fr", user="bob")
    french = chat.ok("aide", user="bob")
    for cmd in chat.app.assembly.registry.commands.values():
        assert cmd.usage in english, cmd.name
        with use_locale("fr"):
            assert _(cmd.usage) in french, cmd.name
            assert _(cmd.summary) in french, cmd.name
    assert "Commandes de Cercle" in french and "Cercle commands" in english


def test_help_on_one_command_and_unknown_one(chat: Chat) -> None:
    assert "Join a community." in chat.ok("help community join")
    assert "Also: communaute, communauté" in chat.ok("help community")
    assert "There is no command 'frobnicate'" in chat.error("help frobnicate")
